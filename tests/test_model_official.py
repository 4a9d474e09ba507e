"""from_official: an official-layout state dict, run by an independent functional re-implementation
of the official forward (written from the spec equations 1.1-1.6), gives the same outputs."""

import pytest
import torch
import torch.nn.functional as F
import torchvision

from rga.model import from_official
from rga.model.official import official_key

H, W = 64, 32  # stage maps 16x8, 8x4, 4x2, 4x2 (the official code is fixed at 256x128)
NUM_CLASSES = 11


# ----- the official key layout and shapes, from the spec ------------------------------------------


def official_shapes(height: int, width: int) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the official ResNet50_RGA_Model, without num_batches_tracked (torch 0.4.0)."""
    with torch.device("meta"):
        trunk = torchvision.models.resnet50().state_dict()
    shapes = {
        f"backbone.{k}": tuple(v.shape)
        for k, v in trunk.items()
        if not k.startswith("fc.") and not k.endswith("num_batches_tracked")
    }
    strides = {1: 4, 2: 8, 3: 16, 4: 16}
    for stage in range(1, 5):
        c, n = 256 * 2 ** (stage - 1), (height // strides[stage]) * (width // strides[stage])
        c_, n_ = c // 8, max(1, n // 8)  # max(1, .): only at tiny inputs, as in rga.model
        p = f"backbone.rga_att{stage}."

        def cbr(name, cin, cout, p=p):
            shapes[p + name + ".0.weight"] = (cout, cin, 1, 1)
            for suffix in ("weight", "bias", "running_mean", "running_var"):
                shapes[p + name + f".1.{suffix}"] = (cout,)

        def head(name, cin, p=p):
            hidden = max(1, cin // 8)
            shapes[p + name + ".0.weight"] = (hidden, cin, 1, 1)
            for suffix in ("weight", "bias", "running_mean", "running_var"):
                shapes[p + name + f".1.{suffix}"] = (hidden,)
            shapes[p + name + ".3.weight"] = (1, hidden, 1, 1)
            for suffix in ("weight", "bias", "running_mean", "running_var"):
                shapes[p + name + f".4.{suffix}"] = (1,)

        # Spec 1.2 registration order.
        cbr("gx_spatial", c, c_)
        cbr("gx_channel", n, n_)
        cbr("gg_spatial", 2 * n, n_)
        cbr("gg_channel", 2 * c, c_)
        head("W_spatial", 1 + n_)
        head("W_channel", 1 + c_)
        cbr("theta_spatial", c, c_)
        cbr("phi_spatial", c, c_)
        cbr("theta_channel", n, n_)
        cbr("phi_channel", n, n_)
    for suffix in ("weight", "bias", "running_mean", "running_var"):
        shapes[f"feat_bn.{suffix}"] = (2048,)
    shapes["cls.weight"] = (NUM_CLASSES, 2048)
    return shapes


def random_official_state_dict(height: int, width: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape in official_shapes(height, width).items():
        if key.endswith("running_var"):
            sd[key] = torch.ones(shape, dtype=torch.float64)
        elif key.endswith("running_mean") or key == "feat_bn.bias":
            sd[key] = torch.zeros(shape, dtype=torch.float64)
        elif key.endswith(".weight") and len(shape) == 1:  # BN gamma
            sd[key] = torch.rand(shape, generator=g, dtype=torch.float64) + 0.5
        elif key.endswith(".bias"):  # BN beta
            sd[key] = torch.randn(shape, generator=g, dtype=torch.float64) * 0.2
        else:  # conv / linear weights, roughly variance-preserving
            fan_in = torch.Size(shape[1:]).numel()
            sd[key] = torch.randn(shape, generator=g, dtype=torch.float64) / fan_in**0.5
    # Running stats: the batch stats of one calibration batch, perturbed, so that eval-mode BN
    # keeps activations (and the attention gates) in a sensitive range.
    official_forward(
        sd, torch.randn(4, 3, height, width, generator=g, dtype=torch.float64), True, 1.0
    )
    for key in sd:
        if key.endswith("running_var"):
            sd[key] *= torch.rand(sd[key].shape, generator=g, dtype=torch.float64) * 0.5 + 0.75
        elif key.endswith("running_mean"):
            sd[key] += 0.1 * torch.randn(sd[key].shape, generator=g, dtype=torch.float64)
    # Float32-representable values: from_official builds a float32 model before .double().
    return {k: v.float().double() for k, v in sd.items()}


# ----- the official forward, functional, from the spec equations ----------------------------------


def official_forward(sd, x, training, momentum=0.1, swap_relation=False):
    """Returns (feat_, feat, logits). Updates the running stats in sd when training."""

    def bn(t, p):
        return F.batch_norm(
            t, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"],
            sd[p + ".bias"], training, momentum, 1e-5,
        )  # fmt: skip

    def conv(t, p, stride=1, padding=0):
        return F.conv2d(t, sd[p + ".weight"], stride=stride, padding=padding)

    def cbr(t, p):
        return F.relu(bn(conv(t, p + ".0"), p + ".1"))

    def head(t, p):  # conv-BN-ReLU-conv-BN(1)
        return bn(conv(F.relu(bn(conv(t, p + ".0"), p + ".1")), p + ".3"), p + ".4")

    def relation(r):  # R (B, M, M) -> r (B, 2M, M): node i holds [R[i, :]; R[:, i]]
        halves = [r.permute(0, 2, 1), r]
        return torch.cat(halves[::-1] if swap_relation else halves, 1)

    def rga(t, p):
        b, c, h, w = t.shape
        n = h * w
        # Spatial (spec 1.3).
        q = cbr(t, p + "theta_spatial").reshape(b, -1, n)
        k = cbr(t, p + "phi_spatial").reshape(b, -1, n)
        r = torch.einsum("bci,bcj->bij", q, k)  # R[i, j] = <Q_i, K_j>
        e = cbr(relation(r).reshape(b, 2 * n, h, w), p + "gg_spatial")
        u = cbr(t, p + "gx_spatial").mean(1, keepdim=True)
        t = torch.sigmoid(head(torch.cat([u, e], 1), p + "W_spatial")) * t
        # Channel (spec 1.4): positions are input channels, the C channels are rows, width 1.
        tc = t.reshape(b, c, n).permute(0, 2, 1).unsqueeze(-1)  # (B, N, C, 1)
        qc = cbr(tc, p + "theta_channel")[..., 0]  # (B, N', C)
        kc = cbr(tc, p + "phi_channel")[..., 0]
        rc = torch.einsum("bni,bnj->bij", qc, kc)  # (B, C, C)
        ec = cbr(relation(rc).unsqueeze(-1), p + "gg_channel")
        uc = cbr(tc, p + "gx_channel").mean(1, keepdim=True)
        logit = head(torch.cat([uc, ec], 1), p + "W_channel")  # (B, 1, C, 1)
        return torch.sigmoid(logit.reshape(b, c, 1, 1)) * t

    def bottleneck(t, p, stride):
        out = F.relu(bn(conv(t, p + ".conv1"), p + ".bn1"))
        out = F.relu(bn(conv(out, p + ".conv2", stride, 1), p + ".bn2"))
        out = bn(conv(out, p + ".conv3"), p + ".bn3")
        if p + ".downsample.0.weight" in sd:
            t = bn(conv(t, p + ".downsample.0", stride), p + ".downsample.1")
        return F.relu(out + t)

    t = F.relu(bn(conv(x, "backbone.conv1", 2, 3), "backbone.bn1"))
    t = F.max_pool2d(t, 3, 2, 1)
    for stage, (blocks, stride) in enumerate(((3, 1), (4, 2), (6, 2), (3, 1)), start=1):
        for i in range(blocks):
            t = bottleneck(t, f"backbone.layer{stage}.{i}", stride if i == 0 else 1)
        t = rga(t, f"backbone.rga_att{stage}.")
    feat_ = t.mean((2, 3))
    feat = F.batch_norm(
        feat_, sd["feat_bn.running_mean"], sd["feat_bn.running_var"], sd["feat_bn.weight"],
        sd["feat_bn.bias"], training, momentum, 1e-5,
    )  # fmt: skip
    return feat_, feat, feat @ sd["cls.weight"].T


# ----- tests ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def official_sd():
    return random_official_state_dict(H, W)


TOL = {"rtol": 1e-9, "atol": 1e-11}


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_from_official_matches_the_official_forward(official_sd, training):
    model = from_official(official_sd, height=H, width=W).double().train(training)
    assert model.num_classes == NUM_CLASSES and model.positions == (1, 2, 3, 4)
    x = torch.randn(3, 3, H, W, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    reference_sd = {k: v.clone() for k, v in official_sd.items()}
    feat_, feat, logits = official_forward(reference_sd, x, training)
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out.z, feat_, **TOL)
    torch.testing.assert_close(out.z_hat, feat, **TOL)
    if training:
        torch.testing.assert_close(out.logits, logits, **TOL)
        # Running statistics were updated the same way, key by key.
        for key, value in model.state_dict().items():
            if "running" in key:
                torch.testing.assert_close(value, reference_sd[official_key(key)], **TOL, msg=key)
    else:
        assert out.logits is None
    # The comparison is sensitive: swapping the relation halves changes the official output.
    swapped = official_forward(
        {k: v.clone() for k, v in official_sd.items()}, x, training, swap_relation=True
    )
    assert (swapped[0] - feat_).abs().max() > 1e3 * TOL["atol"]


def test_float32_error_is_that_of_the_official_computation(official_sd):
    """In float32 the random 50-layer network amplifies rounding (about 1e-2 relative at z), for
    either relation path; the factorised path must add no error of its own beyond that."""
    x = torch.randn(2, 3, H, W, dtype=torch.float64)
    feat_, _, _ = official_forward(dict(official_sd), x, False)
    errors = {}
    for relation in ("factorised", "materialised"):
        model = from_official(official_sd, height=H, width=W, relation=relation).eval()
        with torch.no_grad():
            errors[relation] = (model(x.float()).z.double() - feat_).abs().max().item()
    scale = feat_.abs().max().item()
    assert errors["materialised"] < 5e-2 * scale
    assert errors["factorised"] < 1.5 * errors["materialised"], errors


def test_key_order_and_shapes_equal_the_official_layout(official_sd):
    model = from_official(official_sd, height=H, width=W)
    ours = {
        official_key(k): tuple(v.shape)
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    assert ours == {k: tuple(v.shape) for k, v in official_sd.items()}
    rga_keys = [k for k in ours if ".rga_att" in k]
    assert rga_keys == [k for k in official_sd if ".rga_att" in k]  # registration order


def test_dataparallel_prefix_wrapper_and_num_batches_tracked(official_sd):
    wrapped = {"state_dict": {f"module.{k}": v for k, v in official_sd.items()}, "epoch": 600}
    for key in [k for k in official_sd if k.endswith("running_var")][:3]:
        wrapped["state_dict"][f"module.{key.removesuffix('running_var')}num_batches_tracked"] = (
            torch.tensor(7)
        )
    model = from_official(wrapped, height=H, width=W)
    assert model.backbone.bn1.num_batches_tracked.item() == 7
    torch.testing.assert_close(model.classifier.weight.double(), official_sd["cls.weight"])


def test_unknown_and_missing_keys_are_listed(official_sd):
    sd = dict(official_sd)
    del sd["backbone.rga_att2.W_spatial.4.weight"]
    sd["backbone.rga_att1.extra.weight"] = torch.zeros(1)
    sd["backbone.fc.weight"] = torch.zeros(1000, 2048)
    with pytest.raises(ValueError) as info:
        from_official(sd, height=H, width=W)
    message = str(info.value)
    assert "missing keys: backbone.rga_att2.W_spatial.4.weight" in message
    assert "backbone.rga_att1.extra.weight" in message and "backbone.fc.weight" in message
    with pytest.raises(ValueError, match="cls.weight"):
        from_official(
            {k: v for k, v in official_sd.items() if k != "cls.weight"}, height=H, width=W
        )


def test_wrong_input_size_points_at_height_and_width(official_sd):
    with pytest.raises(ValueError) as info:
        from_official(official_sd, height=128, width=64)
    message = str(info.value)
    assert "shape mismatches" in message and "N = 128 positions" in message
    assert "height=128, width=64" in message


def test_hint_about_the_input_size_only_for_a_size_mismatch(official_sd):
    sd = dict(official_sd)
    del sd["backbone.rga_att2.W_spatial.4.weight"]
    sd["backbone.layer1.0.bn1.weight"] = torch.ones(3)
    with pytest.raises(ValueError) as info:
        from_official(sd, height=H, width=W)
    message = str(info.value)
    assert "backbone.rga_att2.W_spatial.4.weight" in message
    assert "backbone.layer1.0.bn1.weight: expected (64,), got (3,)" in message
    assert "height=" not in message and "N = " not in message


def test_non_tensor_values_and_non_mappings_are_named(official_sd):
    sd = dict(official_sd)
    sd["cls.weight"] = sd["cls.weight"].numpy()
    sd["backbone.conv1.weight"] = sd["backbone.conv1.weight"].tolist()
    with pytest.raises(TypeError) as info:
        from_official(sd, height=H, width=W)
    message = str(info.value)
    assert message.startswith("state_dict values must be tensors; 2 are not:")
    assert "'backbone.conv1.weight' (list)" in message and "'cls.weight' (ndarray)" in message
    assert "torch.from_numpy" in message
    with pytest.raises(TypeError, match=r"pass checkpoint\['model'\]"):
        from_official({"model": official_sd, "epoch": 600}, height=H, width=W)
    with pytest.raises(TypeError, match=r"got str: load the official checkpoint first, torch.load"):
        from_official("checkpoint.pth.tar", height=H, width=W)
    with pytest.raises(TypeError, match=r"got the module Linear: pass model.state_dict\(\)"):
        from_official(torch.nn.Linear(2, 2), height=H, width=W)
    with pytest.raises(TypeError, match="keys must be strings"):
        from_official({0: torch.zeros(1)}, height=H, width=W)

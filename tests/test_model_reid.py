"""ReIDNet: every kind and position set, outputs, training step, baseline vs torchvision, weights."""

import urllib.error

import pytest
import torch
import torch.nn.functional as F
import torchvision

from rga.model import (
    ARCHS,
    FAMILIES,
    KINDS,
    ReIDNet,
    ReIDOutput,
    feature_sizes,
    kind_family,
)

H, W = 64, 32  # small inputs: stage maps 16x8, 8x4, 4x2, 4x2


@pytest.mark.parametrize("positions", [(1, 2, 3, 4), (3,), (2, 4)], ids=str)
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_and_position_set(kind, positions):
    torch.manual_seed(0)
    model = ReIDNet(5, arch="resnet18", kind=kind, positions=positions, height=H, width=W)
    assert sorted(model.attention_modules) == sorted(positions)
    expected = FAMILIES[kind_family(kind)]
    assert all(isinstance(m, expected) for m in model.attention_modules.values())
    x = torch.randn(2, 3, H, W, requires_grad=True)
    out = model(x)
    assert isinstance(out, ReIDOutput)
    assert out.z.shape == out.z_hat.shape == (2, 512) and out.logits.shape == (2, 5)
    assert all(torch.isfinite(t).all() for t in out)
    (out.logits.square().sum() + out.z.sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    maps = model.attention_maps(x.detach())
    assert sorted(maps) == sorted(positions)
    for stage, (spatial, channel) in maps.items():
        h, w = feature_sizes(H, W)[stage]
        assert spatial is None or spatial.shape == (2, 1, h, w)
        assert channel is None or channel.shape[0] == 2


@pytest.mark.parametrize("kind, positions", [(None, (1, 2)), ("rga-sc", ())])
def test_baseline_matches_torchvision_resnet(kind, positions):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None).eval()
    reference.fc = torch.nn.Identity()
    model = ReIDNet(3, arch="resnet18", kind=kind, positions=positions, last_stride=2).eval()
    assert model.attention_modules == {}
    model.backbone.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, H, W)
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(out.z, reference(x), rtol=1e-5, atol=1e-6)
    assert out.logits is None


def test_last_stride_one_keeps_stage4_at_stage3_size():
    x = torch.randn(1, 3, H, W)
    for last_stride, size in ((1, (4, 2)), (2, (2, 1))):
        model = ReIDNet(3, arch="resnet18", kind=None, last_stride=last_stride).eval()
        assert model.forward_features(x).shape[-2:] == size == feature_sizes(H, W, last_stride)[4]
        assert model.backbone.layer4[0].conv1.dilation == (1, 1)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_feature_dim_follows_the_backbone(arch):
    expected = {"resnet50": 2048, "resnet18-w0.5": 256, "resnet18-w0.25": 128}.get(arch, 512)
    model = ReIDNet(4, arch=arch, kind="rga-sc", positions=(4,), height=H, width=W).eval()
    assert model.feature_dim == expected
    out = model(torch.randn(2, 3, H, W))
    assert out.z.shape == out.z_hat.shape == (2, expected) and out.logits is None


def test_head_is_bnneck_with_frozen_bias_and_small_classifier():
    model = ReIDNet(7, arch="resnet18", kind=None)
    assert model.num_classes == 7 and model.classifier.bias is None
    assert not model.feat_bn.bias.requires_grad and (model.feat_bn.bias == 0).all()
    assert (model.feat_bn.weight == 1).all()
    std = model.classifier.weight.std().item()
    assert 0.0005 < std < 0.002


def test_training_step_updates_weights_but_not_the_bnneck_bias():
    torch.manual_seed(0)
    model = ReIDNet(2, arch="resnet18-w0.25", kind="rga-sc", height=H, width=W)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=5e-4
    )
    x, y = torch.randn(4, 3, H, W), torch.tensor([0, 0, 1, 1])
    out = model(x)
    dist = torch.cdist(out.z, out.z)
    loss = F.cross_entropy(out.logits, y) + F.relu(dist[0, 1] - dist[0, 2] + 0.3)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert "feat_bn.bias" not in changed
    assert "attention.att1.gg_spatial.0.weight" in changed and "classifier.weight" in changed
    assert "backbone.conv1.weight" in changed


def test_wrong_input_size_names_both_sizes_and_the_fix():
    model = ReIDNet(3, arch="resnet18", height=H, width=W)
    with pytest.raises(ValueError) as info:
        model(torch.randn(1, 3, 32, 16))
    message = str(info.value)
    assert "64x32" in message and "32x16" in message and "height=32, width=16" in message
    # The module's own check says the same for a direct call.
    with pytest.raises(ValueError, match=r"conv2_x was built for 16x8 .*height=32, width=16"):
        model.attention_modules[1](torch.randn(1, 64, 8, 4))
    # Baseline and CBAM are not tied to a size.
    for kind in (None, "cbam"):
        assert ReIDNet(3, arch="resnet18", kind=kind).eval()(torch.randn(1, 3, 32, 16)).z.shape == (
            1,
            512,
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"arch": "resnet101"}, "valid names: resnet18"),
        ({"kind": "fc-s"}, "valid kinds: rga-sc"),
        ({"positions": (0, 5)}, "stage numbers 1-4"),
        ({"relation": "dense"}, "factorised"),
    ],
)
def test_bad_arguments_name_the_valid_choices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReIDNet(3, **kwargs)


def test_attention_bn_init_uniform_touches_only_attention_bns():
    model = ReIDNet(
        3, arch="resnet18", positions=(3,), height=H, width=W, attention_bn_init="uniform"
    )
    att = [
        m.weight
        for m in model.attention_modules[3].modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    ]
    assert torch.cat(att).std() > 0.1 and all(((w >= 0) & (w <= 1)).all() for w in att)
    assert (model.backbone.bn1.weight == 1).all() and (model.feat_bn.weight == 1).all()


def test_local_weights_file_loads_into_the_trunk(tmp_path):
    torch.manual_seed(1)
    source = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18-local.pth"
    torch.save(source.state_dict(), path)  # includes fc.*, which is ignored
    model = ReIDNet(
        3, arch="resnet18", kind="rga-s", positions=(2,), height=H, width=W, weights=path
    )
    for name, tensor in model.backbone.state_dict().items():
        torch.testing.assert_close(tensor, source.state_dict()[name], rtol=0, atol=0, msg=name)

    broken = dict(source.state_dict())
    del broken["layer1.0.conv1.weight"]
    broken["layer9.weight"] = torch.zeros(1)
    broken["bn1.weight"] = torch.ones(3)
    torch.save(broken, path)
    with pytest.raises(ValueError) as info:
        ReIDNet(3, arch="resnet18", kind=None, weights=path)
    message = str(info.value)
    assert "layer1.0.conv1.weight" in message and "layer9.weight" in message
    assert "bn1.weight: expected (64,), got (3,)" in message
    with pytest.raises(FileNotFoundError, match="not found"):
        ReIDNet(3, arch="resnet18", kind=None, weights=tmp_path / "missing.pth")


def test_offline_imagenet_download_gives_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(RuntimeError) as info:
        ReIDNet(3, arch="resnet18", kind=None, weights="imagenet")
    message = str(info.value)
    assert "could not be downloaded" in message and "weights=<path to resnet18-" in message
    assert torch.hub.get_dir() in message
    with pytest.raises(ValueError, match="no ImageNet weights"):
        ReIDNet(3, arch="resnet18-w0.5", kind=None, weights="imagenet")


@pytest.mark.parametrize(
    "positions, problem",
    [
        ((1, 1), "stage 1 given more than once"),
        ((2, 3, 3, 2), "stage 2 and 3 given more than once"),
        ((0, 5), "0 and 5 are not stages"),
        ((True,), "True is not a stage"),
        ((1.0,), "1.0 is not a stage"),
        (3, "got int, not a tuple"),
        ("12", "got str, not a tuple"),
    ],
    ids=str,
)
def test_bad_positions_are_refused_like_run_config(positions, problem):
    for kind in ("rga-sc", None):  # checked for the baseline too, as RunConfig does
        with pytest.raises(ValueError) as info:
            ReIDNet(3, arch="resnet18", kind=kind, positions=positions)
        message = str(info.value)
        assert message.startswith(f"positions={positions!r}: {problem}")
        assert "distinct stage numbers 1-4" in message and "positions=(1, 2, 3, 4)" in message


def test_positions_in_any_order_or_container_give_the_same_model():
    for positions in ([3, 1], (3, 1), range(1, 4, 2)):
        model = ReIDNet(3, arch="resnet18", positions=positions, height=H, width=W)
        assert model.positions == (1, 3) and sorted(model.attention_modules) == [1, 3]


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_integer_images_name_the_conversion(dtype):
    model = ReIDNet(3, arch="resnet18", kind="cbam", positions=(2,), height=H, width=W).eval()
    images = torch.zeros(2, 3, H, W, dtype=dtype)
    for call in (model, model.forward_features, model.attention_maps):
        with pytest.raises(TypeError) as info:
            call(images)
        message = str(info.value)
        assert message.startswith("images must be a float tensor normalised like rga.data.build_")
        assert f"got {dtype}" in message and "images.float() / 255" in message


def test_non_tensor_images_are_named():
    model = ReIDNet(3, arch="resnet18", kind=None).eval()
    with pytest.raises(TypeError, match=r"images must be a torch.Tensor .*got ndarray"):
        model(torch.zeros(1, 3, H, W).numpy())
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\), got \(3, 64, 32\)"):
        model(torch.zeros(3, H, W))

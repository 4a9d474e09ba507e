"""Every attention kind of the main paper's Tables 1, 2 and 4: outputs, gradients, gates, both
relation paths, the embeddings, SE inside the blocks, non-local, the probe, config and results
files, and the parameter counts of Table 3."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from result_fakes import fake_record, scores
from torch import nn

from rga.analysis.probe import probe, relation_maps, score_model_attention
from rga.engine.config import (
    ADDED_FIELDS,
    EMBEDDING_KINDS,
    config_from_dict,
    make_config,
    model_label,
    run_id,
)
from rga.engine.config import KINDS as CONFIG_KINDS
from rga.model import (
    CBAM,
    EMBEDDINGS,
    FAMILIES,
    KINDS,
    NonLocalBlock,
    ReIDNet,
    RGAModule,
    SEStage,
    SqueezeExcitation,
    build_attention,
    has_relations,
    kind_family,
)
from rga.model.backbone import residual_branches
from rga.study.pages.architecture import parameter_counts_table
from rga.study.results import load_results, write_result

ARCH, H, W = "resnet18-w0.25", 64, 32
SIZES = {1: (16, 8), 2: (8, 4), 3: (4, 2), 4: (4, 2)}  # stage maps of a 64x32 input
CHANNELS = {1: 16, 2: 32, 3: 64, 4: 128}  # 0.25 * (64, 128, 256, 512)
REPO = Path(__file__).resolve().parents[1]

# (spatial gate, channel gate) of every kind, written out here so that a new kind must be
# added on purpose.
GATES = {
    "rga-sc": (True, True),
    "rga-s": (True, False),
    "rga-c": (False, True),
    "rga-sc-norel": (True, True),
    "rga-s-norel": (True, False),
    "rga-c-norel": (False, True),
    "rga-s-noori": (True, False),
    "rga-c-noori": (False, True),
    "rga-sc-parallel": (True, True),
    "rga-cs": (True, True),
    "cbam": (True, True),
    "cbam-s": (True, False),
    "cbam-c": (False, True),
    "se": (False, True),
    "nonlocal": (False, False),
}
RGA_KINDS = [k for k in KINDS if kind_family(k) == "rga"]
SPATIAL_RELATION_KINDS = ["rga-sc", "rga-s", "rga-s-noori", "rga-sc-parallel", "rga-cs"]

FP = "0123abcd"  # a data tag (the first characters of a data fingerprint)


def tiny(kind, positions=(1, 2, 3, 4), seed=0, **kwargs) -> ReIDNet:
    torch.manual_seed(seed)
    return ReIDNet(5, arch=ARCH, kind=kind, positions=positions, height=H, width=W, **kwargs)


def randomise_bn(module: nn.Module, seed: int = 0) -> None:
    """Random BN affine parameters and running statistics in the module's dtype (non-trivial BN
    for parity checks)."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n, dtype = m.num_features, m.weight.dtype
            m.weight.data = (torch.rand(n, generator=g) + 0.5).to(dtype)
            m.bias.data = (torch.randn(n, generator=g) * 0.2).to(dtype)
            m.running_mean = (torch.randn(n, generator=g) * 0.2).to(dtype)
            m.running_var = (torch.rand(n, generator=g) + 0.5).to(dtype)


def test_the_kind_lists_agree():
    assert set(GATES) == set(KINDS)
    assert list(CONFIG_KINDS) == [*KINDS, None]
    assert set(EMBEDDING_KINDS) == {k for k in KINDS if has_relations(k)}
    assert {kind_family(k) for k in KINDS} == set(FAMILIES)
    with pytest.raises(ValueError, match="valid kinds: rga-sc"):
        kind_family("fc-s")


# ----- every kind in the network ------------------------------------------------------------


@pytest.mark.parametrize("positions", [(1, 2, 3, 4), (3,)], ids=str)
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_outputs_gradients_and_maps(kind, positions):
    model = tiny(kind, positions)
    assert sorted(model.attention_modules) == list(positions)
    assert all(isinstance(m, FAMILIES[kind_family(kind)]) for m in model.attention_modules.values())
    x = torch.randn(3, 3, H, W, requires_grad=True)
    out = model(x)
    assert out.z.shape == out.z_hat.shape == (3, 128) and out.logits.shape == (3, 5)
    assert all(torch.isfinite(t).all() for t in out)
    (out.logits.square().sum() + out.z.sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name

    model.eval()
    maps = model.attention_maps(x.detach())
    assert sorted(maps) == list(positions)
    has_spatial, has_channel = GATES[kind]
    for stage, (spatial, channel) in maps.items():
        assert (spatial is not None, channel is not None) == GATES[kind], stage
        if has_spatial:
            assert spatial.shape == (3, 1, *SIZES[stage])
        if has_channel:
            assert channel.shape == (3, CHANNELS[stage])
        for gate in (spatial, channel):
            if gate is not None:
                assert ((gate > 0) & (gate < 1)).all()


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("se", "nonlocal")])
def test_the_maps_are_the_gates_forward_applies(kind):
    """After-stage gated kinds: out = spatial * channel * x (any order: a product of gates)."""
    torch.manual_seed(0)
    module = calibrate(build_attention(kind, 16, 6, 4), (4, 16, 6, 4)).double()
    x = torch.randn(2, 16, 6, 4, dtype=torch.float64)
    out, (spatial, channel) = module.forward_with_maps(x)
    s = spatial if spatial is not None else 1.0
    c = channel[:, :, None, None] if channel is not None else 1.0
    torch.testing.assert_close(out, s * c * x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(module(x), out, rtol=0, atol=0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_probe_and_precision_handle_every_kind(kind):
    model = tiny(kind, positions=(2, 4))
    images = torch.randn(3, 3, H, W, generator=torch.Generator().manual_seed(1))
    maps = probe(model, images)
    assert sorted(maps) == [2, 4]
    for stage, m in maps.items():
        assert (m.spatial is not None, m.channel is not None) == GATES[kind]
        if m.spatial is not None:
            assert m.spatial.shape == (3, *SIZES[stage]) and m.spatial.dtype == np.float32
    # the probe recomputes the gates the network applies
    with torch.no_grad():
        own = model.eval().attention_maps(images)
    for stage, m in maps.items():
        for ours, theirs in zip(m, own[stage], strict=True):
            if theirs is not None:
                theirs = theirs[:, 0] if theirs.dim() == 4 else theirs
                np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-6)
    masks = np.zeros((3, H, W), dtype=bool)
    masks[:, 8:56, 8:24] = True
    scores = score_model_attention(model, images, masks)
    assert sorted(scores) == ([2, 4] if GATES[kind][0] else [])
    if kind in SPATIAL_RELATION_KINDS:
        row, col = relation_maps(model, images, 2, (1, 1))
        assert row.shape == col.shape == (3, *SIZES[2])
    else:
        with pytest.raises((TypeError, ValueError), match="relation"):
            relation_maps(model, images, 2, 0)


# ----- RGA: both relation paths ---------------------------------------------------------------


def calibrate(module: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    """Random BN affine parameters, running statistics = the batch statistics of the batch
    ``torch.randn(shape)`` from seed 2: eval-mode gates then stay in their sensitive range
    (random running stats saturate them)."""
    randomise_bn(module)
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.momentum = 1.0
    with torch.no_grad():
        param = next(module.parameters())
        module.train()(torch.randn(shape, generator=torch.Generator().manual_seed(2)).to(param))
    for m in bns:
        m.momentum = 0.1
    return module.eval()


def rga_pair(kind, embedding, c, h, w):
    """A factorised RGA module (calibrated BN) and a materialised copy with its state dict."""
    torch.manual_seed(0)
    fact = build_attention(kind, c, h, w, embedding=embedding, relation="factorised")
    calibrate(fact, (4, c, h, w)).double()
    mat = build_attention(kind, c, h, w, embedding=embedding, relation="materialised").double()
    mat.load_state_dict(fact.state_dict())
    return fact, mat


def run(module, x, grad_out):
    x = x.clone().requires_grad_(True)
    module.zero_grad()
    out = module(x)
    out.backward(grad_out)
    return out.detach(), x.grad, {n: p.grad.clone() for n, p in module.named_parameters()}


RGA_SETTINGS = [(k, "asymmetric") for k in RGA_KINDS] + [
    (k, e) for k in RGA_KINDS if has_relations(k) for e in ("symmetric", "none")
]


@pytest.mark.parametrize("size", [(6, 4), (7, 5)], ids=["6x4", "7x5"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("kind, embedding", RGA_SETTINGS, ids=[f"{k}-{e}" for k, e in RGA_SETTINGS])
def test_rga_variants_factorised_matches_materialised(kind, embedding, training, size):
    h, w = size
    fact, mat = rga_pair(kind, embedding, 16, h, w)
    fact.train(training)
    mat.train(training)
    # The calibration batch: eval-mode BN then sees its own statistics, so no gate is saturated
    # (a one-unit gate head, as in rga-c-noori at C = 16, can otherwise be dead after its ReLU).
    x = torch.randn((4, 16, h, w), generator=torch.Generator().manual_seed(2)).double()
    grad_out = torch.randn(4, 16, h, w, generator=torch.Generator().manual_seed(1)).double()
    out_f, gx_f, grads_f = run(fact, x, grad_out)
    out_m, gx_m, grads_m = run(mat, x, grad_out)
    tol = {"rtol": 1e-10, "atol": 1e-12}
    torch.testing.assert_close(out_f, out_m, **tol)
    torch.testing.assert_close(gx_f, gx_m, **tol)
    assert grads_f.keys() == grads_m.keys()
    for name in grads_f:
        scale = max(1.0, grads_m[name].abs().max().item())
        torch.testing.assert_close(
            grads_f[name], grads_m[name], rtol=1e-10, atol=1e-12 * scale, msg=name
        )
    for (name, b_f), b_m in zip(fact.named_buffers(), mat.buffers(), strict=True):
        torch.testing.assert_close(b_f, b_m, **tol, msg=name)
    # the gates are not saturated, so the comparison means something
    gates = [g for g in fact.eval().attention_maps(x) if g is not None]
    assert all(g.std() > 0.01 for g in gates)


@pytest.mark.parametrize(
    "kind, embedding",
    [(k, "asymmetric") for k in RGA_KINDS] + [("rga-sc", "symmetric"), ("rga-cs", "none")],
)
def test_rga_variants_in_the_network_agree_on_both_paths(kind, embedding):
    """Any stage subset and input size: the two paths give the same network output (float64)."""
    for positions, (height, width) in (
        ((1, 2, 3, 4), (64, 32)),
        ((2, 4), (80, 48)),
        ((1,), (48, 24)),
    ):
        torch.manual_seed(0)
        kwargs = dict(arch=ARCH, kind=kind, positions=positions, height=height, width=width)
        fact = ReIDNet(5, **kwargs, embedding=embedding, relation="factorised").double()
        mat = ReIDNet(5, **kwargs, embedding=embedding, relation="materialised").double()
        mat.load_state_dict(fact.state_dict())
        x = torch.randn(2, 3, height, width, dtype=torch.float64)
        for training in (True, False):
            fact.train(training)
            mat.train(training)
            with torch.no_grad():
                torch.testing.assert_close(fact(x).z, mat(x).z, rtol=1e-9, atol=1e-11)


# ----- RGA: what each switch builds and computes ----------------------------------------------


def _sub(module, state):
    """``module`` (double, eval) with the entries of ``state`` it has; it must have no others."""
    own = module.state_dict()
    assert set(own) <= set(state)
    module.load_state_dict({k: v for k, v in state.items() if k in own})
    return module.double().eval()


@pytest.mark.parametrize("order", ["sc", "cs", "parallel"])
def test_orders_compose_the_single_branch_gates(order):
    """RGA-SC: channel gate on the spatially gated map; RGA-CS: the reverse; RGA-S//C: both gates
    from the input. Each gate equals that of an RGA-S / RGA-C module with the same weights."""
    torch.manual_seed(0)
    both = calibrate(RGAModule(16, 6, 4, order=order), (4, 16, 6, 4)).double()
    only_s = _sub(RGAModule(16, 6, 4, channel=False), both.state_dict())
    only_c = _sub(RGAModule(16, 6, 4, spatial=False), both.state_dict())
    x = torch.randn(2, 16, 6, 4, dtype=torch.float64)
    spatial, channel = both.attention_maps(x)
    if order == "sc":
        s_in, c_in = x, spatial * x
    elif order == "cs":
        c_in, s_in = x, only_c(x)
    else:
        s_in = c_in = x
    torch.testing.assert_close(spatial, only_s.attention_maps(s_in).spatial, rtol=1e-12, atol=0)
    torch.testing.assert_close(channel, only_c.attention_maps(c_in).channel, rtol=1e-12, atol=0)


def test_orders_give_different_outputs_with_the_same_weights():
    torch.manual_seed(0)
    sc = calibrate(RGAModule(16, 6, 4), (4, 16, 6, 4)).double()
    x = torch.randn(2, 16, 6, 4, dtype=torch.float64)
    outs = {"sc": sc(x)}
    for order in ("cs", "parallel"):
        other = RGAModule(16, 6, 4, order=order).double().eval()
        other.load_state_dict(sc.state_dict())
        outs[order] = other(x)
    assert not torch.allclose(outs["sc"], outs["cs"]) and not torch.allclose(
        outs["sc"], outs["parallel"]
    )


def test_without_appearance_builds_no_gx_and_the_heads_read_only_the_relations():
    spatial = build_attention("rga-s-noori", 16, 8, 4)  # N = 32, N' = 4
    assert {n.split(".")[0] for n, _ in spatial.named_parameters()} == {
        "gg_spatial",
        "W_spatial",
        "theta_spatial",
        "phi_spatial",
    }
    assert spatial.W_spatial[0].weight.shape == (1, 4, 1, 1)  # N' -> max(1, N' // 8)
    channel = build_attention("rga-c-noori", 64, 8, 4)  # C' = 8
    assert channel.W_channel[0].weight.shape == (1, 8, 1, 1)
    assert not hasattr(channel, "gx_channel")
    with pytest.raises(ValueError, match="use_relation=True, use_appearance=True or both"):
        RGAModule(16, 6, 4, use_relation=False, use_appearance=False)


@pytest.mark.parametrize("kind", ["rga-s-norel", "rga-c-norel"])
def test_without_relations_builds_only_the_appearance_term(kind):
    module = build_attention(kind, 16, 6, 4)
    branch = "spatial" if kind.startswith("rga-s") else "channel"
    assert {n.split(".")[0] for n, _ in module.named_parameters()} == {
        f"gx_{branch}",
        f"W_{branch}",
    }


def test_embeddings_build_their_layers_and_relations():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 3, dtype=torch.float64)
    names = {}
    for embedding in EMBEDDINGS:
        module = RGAModule(8, 5, 3, embedding=embedding).double().eval()
        names[embedding] = {n.split(".")[0] for n, _ in module.named_parameters()}
        row, col = module.relation_row_col(x, 7)
        if embedding == "asymmetric":
            assert not torch.allclose(row, col)
        elif embedding == "symmetric":  # Q = K: R is symmetric
            torch.testing.assert_close(row, col, rtol=1e-12, atol=1e-12)
        else:  # relations of the raw features: R = x^T x
            xs = x.flatten(2)
            gram = xs.transpose(1, 2) @ xs  # (B, N, N)
            torch.testing.assert_close(row.flatten(1), gram[:, 7], rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(col, row, rtol=1e-12, atol=1e-12)
    relational = {"theta_spatial", "phi_spatial", "theta_channel", "phi_channel"}
    assert relational <= names["asymmetric"]
    assert names["asymmetric"] - names["symmetric"] == {"phi_spatial", "phi_channel"}
    assert names["asymmetric"] - names["none"] == relational


def test_embedding_applies_only_to_kinds_with_relations():
    for kind in ("cbam", "se", "rga-sc-norel", None):
        with pytest.raises(ValueError, match="applies to RGA kinds with relations"):
            ReIDNet(5, arch=ARCH, kind=kind, height=H, width=W, embedding="symmetric")
    with pytest.raises(ValueError, match="embedding must be one of"):
        ReIDNet(5, arch=ARCH, kind="rga-sc", height=H, width=W, embedding="shared")
    with pytest.raises(ValueError, match="use_relation=False"):
        RGAModule(16, 6, 4, use_relation=False, embedding="none")


def test_default_rga_sc_is_built_as_before():
    """The official RGA-SC keeps its layers, in the official order (spec 1.2)."""
    module = build_attention("rga-sc", 16, 6, 4)
    assert list(dict.fromkeys(n.split(".")[0] for n, _ in module.named_parameters())) == [
        "gx_spatial",
        "gx_channel",
        "gg_spatial",
        "gg_channel",
        "W_spatial",
        "W_channel",
        "theta_spatial",
        "phi_spatial",
        "theta_channel",
        "phi_channel",
    ]
    assert (module.order, module.embedding, module.use_appearance) == ("sc", "asymmetric", True)


# ----- CBAM-S / CBAM-C, SE, non-local ---------------------------------------------------------


def test_cbam_single_branches_and_unchanged_cbam_keys():
    assert list(CBAM(64).state_dict()) == [
        "mlp.0.weight",
        "mlp.0.bias",
        "mlp.2.weight",
        "mlp.2.bias",
        "spatial_conv.weight",
        "spatial_conv.bias",
    ]
    assert list(CBAM(64, channel=False).state_dict()) == [
        "spatial_conv.weight",
        "spatial_conv.bias",
    ]
    assert [k.split(".")[0] for k in CBAM(64, spatial=False).state_dict()] == ["mlp"] * 4
    with pytest.raises(ValueError, match="channel=True, spatial=True or both"):
        CBAM(64, channel=False, spatial=False)


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_residual_branches_add_up_to_the_block(arch):
    torch.manual_seed(0)
    trunk = getattr(torchvision.models, arch)(weights=None).eval()
    randomise_bn(trunk)
    x = torch.randn(2, 64, 8, 4)
    for block in (trunk.layer1[0], trunk.layer2[0]):  # layer2[0] has a strided downsample
        residual, shortcut = residual_branches(block, x)
        with torch.no_grad():
            torch.testing.assert_close(block.relu(residual + shortcut), block(x), rtol=0, atol=0)
        x = block(x).detach()


def test_se_sits_on_the_residual_branch_of_every_block():
    torch.manual_seed(0)
    model = tiny("se", positions=(2, 3)).eval()
    stage = model.attention_modules[2]
    assert isinstance(stage, SEStage) and len(stage.layers) == len(model.backbone.layer2) == 2
    # the trunk keeps torchvision's parameter names (ImageNet weights load by name)
    assert list(model.backbone.state_dict()) == list(tiny(None).backbone.state_dict())
    x = torch.randn(2, 16, 16, 8)  # the input of layer2
    with torch.no_grad():
        expected = x
        for block, se in zip(model.backbone.layer2, stage.layers, strict=True):
            residual, shortcut = residual_branches(block, expected)
            z = residual.mean((2, 3))
            gate = torch.sigmoid(se.fc2(torch.relu(se.fc1(z))))  # Hu et al. Eq. 2-3
            expected = torch.relu(gate[:, :, None, None] * residual + shortcut)
        torch.testing.assert_close(stage(x, model.backbone.layer2), expected, rtol=1e-6, atol=1e-6)
        assert stage.attention_maps(x, model.backbone.layer2).channel.shape == (2, 32)
    with pytest.raises(ValueError, match="num_blocks=2"):
        SEStage(32, 3)(x, model.backbone.layer2)
    assert SqueezeExcitation(64).fc1.weight.shape == (4, 64)  # r = 16


def test_nonlocal_starts_as_identity_and_is_the_embedded_gaussian():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 6, 4, dtype=torch.float64)
    block = NonLocalBlock(16, reduction=4).double().eval()
    assert block.theta.weight.shape == (4, 16, 1, 1)
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)  # BN scale 0 at init
    randomise_bn(block)
    with torch.no_grad():
        q = block.theta(x).flatten(2)  # (B, C', N)
        k = block.phi(x).flatten(2)
        v = block.g(x).flatten(2)
        weights = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, N, N), Eq. 3 without scaling
        y = (v @ weights.transpose(1, 2)).view(2, 4, 6, 4)  # y_i = sum_j w_ij g(x_j)
        expected = x + block.W_z(y)
        torch.testing.assert_close(block(x), expected, rtol=1e-12, atol=1e-12)
    assert block.attention_maps(x) == (None, None)


# ----- config and results files ---------------------------------------------------------------


def test_committed_results_keep_their_run_ids():
    paths = sorted((REPO / "experiments" / "results").glob("*/*.json"))
    assert len(paths) >= 3
    for path in paths:
        record = json.loads(path.read_text())
        config = config_from_dict(record["config"])  # older files lack rga_embedding
        assert run_id(config, record["data"]["fingerprint"]) == path.stem == record["run_id"]


def test_rga_embedding_is_validated_and_hashed_only_when_not_default():
    base = make_config("smoke", kind="rga-cs")
    assert base.rga_embedding == ADDED_FIELDS["rga_embedding"] == "asymmetric"
    symmetric = make_config("smoke", kind="rga-cs", rga_embedding="symmetric")
    assert run_id(symmetric, FP) != run_id(base, FP)
    assert run_id(symmetric, FP).startswith("synthreid-resnet18-rga-cs-p1234-s0-")
    with pytest.raises(ValueError, match=r"rga_embedding='shared' is not valid; choose one of"):
        make_config("smoke", rga_embedding="shared")
    with pytest.raises(ValueError, match="applies to kinds with relations"):
        make_config("smoke", kind="se", rga_embedding="none")
    with pytest.raises(ValueError, match="applies to kinds with relations"):
        make_config("smoke", kind=None, rga_embedding="none")
    for kind in KINDS:
        make_config("smoke", kind=kind)  # every kind is a valid config value


@pytest.mark.parametrize(
    "kind, embedding, label",
    [
        ("rga-sc-parallel", "asymmetric", "RGA-S//C conv2-5_x"),
        ("rga-cs", "symmetric", "RGA-CS (symmetric embedding) conv2-5_x"),
        ("rga-s-noori", "none", "RGA-S w/o Ori. (w/o embedding) conv2-5_x"),
        ("nonlocal", "asymmetric", "NL conv2-5_x"),
        ("cbam-c", "asymmetric", "CBAM-C conv2-5_x"),
    ],
)
def test_model_labels_of_new_kinds(kind, embedding, label):
    assert model_label(make_config("smoke", kind=kind, rga_embedding=embedding)) == label


def _record(config):
    return fake_record(config, metrics=scores(40.0, R1=50.0), data={"fingerprint": FP})


def test_results_files_round_trip_the_new_fields(tmp_path):
    new = make_config("smoke", experiment="exp", kind="rga-cs", rga_embedding="symmetric")
    path = write_result(_record(new), tmp_path)
    assert config_from_dict(json.loads(path.read_text())["config"]) == new
    # a file written before rga_embedding existed
    old = _record(make_config("smoke", experiment="exp", kind="se", seed=1))
    del old["config"]["rga_embedding"]
    write_result(old, tmp_path)
    runs = load_results(tmp_path).set_index("kind")
    assert runs.loc["rga-cs", "rga_embedding"] == "symmetric"
    assert runs.loc["se", "rga_embedding"] == "asymmetric"  # filled in, not NaN
    assert runs.loc["rga-cs", "label"] == "RGA-CS (symmetric embedding) conv2-5_x"
    assert runs.loc["rga-cs", "run_id"] == path.stem


# ----- parameter counts (main paper Table 3) --------------------------------------------------


def _cbr(cin, cout):
    return cin * cout + 2 * cout  # conv (no bias) + BN


def _head(cin):
    hidden = max(1, cin // 8)
    return cin * hidden + 2 * hidden + hidden + 2  # W1, BN, W2, BN(1)


def _rga_count(sw, embedding, c, n):
    """Parameters of one RGA module from the spec 1.2 layer list and the variant switches."""
    rel, app = sw.get("use_relation", True), sw.get("use_appearance", True)
    embeddings = {"asymmetric": 2, "symmetric": 1, "none": 0}[embedding]
    total = 0
    for on, d, m in ((sw["spatial"], c, n), (sw["channel"], n, c)):  # (D features, M nodes)
        if not on:
            continue
        d_, m_ = d // 8, m // 8
        total += _cbr(d, d_) if app else 0  # gx
        total += (_cbr(2 * m, m_) + embeddings * _cbr(d, d_)) if rel else 0  # gg, theta, phi
        total += _head((1 if app else 0) + (m_ if rel else 0))  # W
    return total


def _expected_count(kind, embedding, c, n, blocks):
    sw = KINDS[kind]
    family = kind_family(kind)
    if family == "rga":
        return _rga_count(sw, embedding, c, n)
    if family == "cbam":
        h = c // 16
        return (2 * c * h + h + c if sw["channel"] else 0) + (2 * 49 + 1 if sw["spatial"] else 0)
    if family == "se":
        h = c // 16
        return blocks * (2 * c * h + h + c)
    inter = c // 4  # nonlocal: theta, phi, g (with bias), W_z (with bias) + BN
    return 3 * (c * inter + inter) + inter * c + c + 2 * c


def test_resnet50_parameter_counts_of_every_kind():
    """ResNet-50 at 256x128, positions 1-4: every module against the formula (meta device)."""
    shapes = {1: (256, 2048, 3), 2: (512, 512, 4), 3: (1024, 128, 6), 4: (2048, 128, 3)}
    with torch.device("meta"):
        baseline = sum(p.numel() for p in ReIDNet(751, kind=None).parameters())
        assert baseline == 25_050_176
        for kind in KINDS:
            for embedding in (
                ("asymmetric", "symmetric", "none") if has_relations(kind) else ("asymmetric",)
            ):
                model = ReIDNet(751, kind=kind, embedding=embedding)
                for stage, module in model.attention_modules.items():
                    count = sum(p.numel() for p in module.parameters())
                    assert count == _expected_count(kind, embedding, *shapes[stage]), (kind, stage)
                total = sum(p.numel() for p in model.parameters())
                attention = sum(
                    p.numel() for m in model.attention_modules.values() for p in m.parameters()
                )
                assert total == baseline + attention


def test_table3_beside_ours():
    table = parameter_counts_table()
    built = table[table["built as"] == "kind"].set_index("design")
    check = built["check"].to_dict()
    # The counts that identify SE's placement and NL's width, and the official RGA modules.
    for design in ("Baseline", "RGA-S", "RGA-C", "SE", "NL"):
        assert check[design] == "✓", design
    # CBAM's own modules do not reach the paper's counts (reported, not hidden).
    assert check["CBAM-S"] == check["CBAM-C"] == "✗"
    assert built.loc["RGA-S", "parameters"] == 25_050_176 + 3_223_800  # spec section 3
    assert built.loc["RGA-C", "parameters"] == 25_050_176 + 3_090_296
    assert built.loc["SE", "paper (M)"] == 27.6 and built.loc["NL", "paper (M)"] == 30.6
    assert set(built["kind"]) == {*KINDS, "none"}
    rejected = table[table["built as"] == "alternative (not built)"]
    assert set(rejected.loc[rejected["design"].isin(["SE", "NL"]), "check"]) == {"✗"}
    assert table.loc[table["design"] == "FC-S", "parameters"].isna().all()

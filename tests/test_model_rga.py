"""The RGA and CBAM modules: factorised vs materialised relations, probes, sizes, spec counts."""

import copy

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from rga.model import CBAM, KINDS, ReIDNet, RGAModule, build_attention

# The kinds the tests below were written for; tests/test_model_variants.py covers every kind.
FIRST_KINDS = ["rga-sc", "rga-s", "rga-c", "rga-sc-norel", "cbam"]
# Spec 1.8: parameters of rga_att1..4 of the official RGA-SC at 256x128.
SPEC_COUNTS = {1: 2_673_172, 2: 329_796, 3: 668_908, 4: 2_642_220}
# Spec 1.2 table: (C, h, w) of each stage at 256x128 with last stride 1.
SPEC_SHAPES = {1: (256, 64, 32), 2: (512, 32, 16), 3: (1024, 16, 8), 4: (2048, 16, 8)}


def randomise_bn(module: nn.Module, seed: int = 0) -> None:
    """Random BN affine and running stats, so that parity tests see non-trivial BN."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=g) + 0.5
            m.bias.data = torch.randn(n, generator=g) * 0.2
            m.running_mean = torch.randn(n, generator=g) * 0.2
            m.running_var = torch.rand(n, generator=g) + 0.5


def calibrate(module: nn.Module, x: torch.Tensor, seed: int = 0) -> None:
    """Running stats = the batch stats of x, then perturbed: eval-mode BN then keeps the gates
    in their sensitive range (random running stats alone give near-constant gates)."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.momentum = 1.0
    with torch.no_grad():
        module.train()(x)
    for m in bns:
        m.momentum = 0.1
        m.running_var *= torch.rand(m.num_features, generator=g) * 0.5 + 0.75
        m.running_mean += 0.2 * torch.randn(m.num_features, generator=g) * m.running_var.sqrt()


def pair(dtype, **kwargs):
    """A factorised module and a materialised copy with the same state dict."""
    torch.manual_seed(0)
    fact = RGAModule(**kwargs, relation="factorised")
    randomise_bn(fact)
    c, h, w = kwargs["in_channels"], kwargs["height"], kwargs["width"]
    calibrate(fact, torch.randn(3, c, h, w))
    fact.to(dtype)
    mat = RGAModule(**kwargs, relation="materialised").to(dtype)
    mat.load_state_dict(fact.state_dict())
    return fact, mat


def run(module, x, grad_out):
    x = x.clone().requires_grad_(True)
    module.zero_grad()
    out = module(x)
    out.backward(grad_out)
    grads = {n: p.grad.clone() for n, p in module.named_parameters()}
    return out.detach(), x.grad, grads


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    "dtype, tol",
    [
        (torch.float64, {"rtol": 1e-10, "atol": 1e-12}),
        (torch.float32, {"rtol": 1e-4, "atol": 1e-5}),
    ],
    ids=["float64", "float32"],
)
@pytest.mark.parametrize("kind", ["rga-sc", "rga-s", "rga-c"])
def test_factorised_matches_materialised(kind, dtype, tol, training):
    fact, mat = pair(dtype, in_channels=16, height=6, width=4, **KINDS[kind])
    fact.train(training)
    mat.train(training)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 16, 6, 4, generator=g, dtype=dtype)
    grad_out = torch.randn(3, 16, 6, 4, generator=g, dtype=dtype)
    out_f, gx_f, grads_f = run(fact, x, grad_out)
    out_m, gx_m, grads_m = run(mat, x, grad_out)
    torch.testing.assert_close(out_f, out_m, **tol)
    torch.testing.assert_close(gx_f, gx_m, **tol)
    assert grads_f.keys() == grads_m.keys()
    for name in grads_f:
        # Weight gradients sum over batch and positions in a different order on each path, so
        # the absolute tolerance scales with the gradient's size (matters in float32 only).
        scale = max(1.0, grads_m[name].abs().max().item())
        torch.testing.assert_close(
            grads_f[name], grads_m[name], rtol=tol["rtol"], atol=tol["atol"] * scale, msg=name
        )
    # BN running statistics were updated identically (train) or left alone (eval).
    for (name, b_f), b_m in zip(fact.named_buffers(), mat.buffers(), strict=True):
        torch.testing.assert_close(b_f, b_m, **tol, msg=name)


def test_gates_are_not_saturated_in_parity_setting():
    """The parity test above is only meaningful if the gates vary (not all ~0 or ~1)."""
    fact, _ = pair(torch.float64, in_channels=16, height=6, width=4)
    x = torch.randn(3, 16, 6, 4, dtype=torch.float64)
    maps = fact.eval().attention_maps(x)
    for gate in maps:
        assert gate.std() > 0.05
        assert ((gate > 0.05) & (gate < 0.95)).double().mean() > 0.3


class _LargestTensor(TorchFunctionMode):
    """Records the largest tensor produced by any torch function during a forward."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize(
    "channels, height, width, nodes",
    [(4, 8, 6, 48), (48, 2, 3, 48)],
    ids=["spatial-R", "channel-Rc"],
)
def test_factorised_never_builds_the_relation_matrix(channels, height, width, nodes):
    x = torch.randn(2, channels, height, width)
    relation_numel = 2 * nodes * nodes  # R (or Rc) for a batch of 2
    for relation in ("factorised", "materialised"):
        module = RGAModule(channels, height, width, relation=relation)
        with _LargestTensor() as probe:
            module(x)
        if relation == "factorised":
            assert probe.largest < relation_numel, probe.largest
        else:  # the probe does see R when it is built
            assert probe.largest >= relation_numel, probe.largest


def test_relation_row_col_matches_the_relation_map_fed_to_gg_spatial():
    torch.manual_seed(0)
    module = RGAModule(8, 5, 3, relation="materialised").double().eval()
    seen = {}

    def keep_input(conv, inputs, output):
        seen["r"] = inputs[0]

    module.gg_spatial[0].register_forward_hook(keep_input)
    x = torch.randn(2, 8, 5, 3, dtype=torch.float64)
    module(x)
    r = seen["r"][..., 0]  # (B, 2N, N): channels of node i = [R[i, :]; R[:, i]]
    n = 15
    for index in (0, 7, 14):
        row, col = module.relation_row_col(x, index)
        assert row.shape == col.shape == (2, 5, 3)
        torch.testing.assert_close(row.flatten(1), r[:, :n, index], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(col.flatten(1), r[:, n:, index], rtol=1e-12, atol=1e-12)
    # (row, col) pairs index in raster order; the factorised path gives the same maps.
    row_a, col_a = module.relation_row_col(x, (2, 1))
    module.relation = "factorised"
    row_b, col_b = module.relation_row_col(x, 7)
    torch.testing.assert_close(row_a, row_b, rtol=0, atol=0)
    torch.testing.assert_close(col_a, col_b, rtol=0, atol=0)
    assert not torch.allclose(row_b, col_b)  # R is asymmetric (theta != phi)
    with pytest.raises(IndexError, match="outside"):
        module.relation_row_col(x, 15)


@pytest.mark.parametrize("kind", ["rga-c", "rga-sc-norel"])
def test_relation_row_col_needs_spatial_relations(kind):
    module = build_attention(kind, 8, 4, 2)
    with pytest.raises(ValueError, match="spatial branch with relations"):
        module.relation_row_col(torch.randn(1, 8, 4, 2), 0)


@pytest.mark.parametrize("kind", FIRST_KINDS)
def test_attention_maps_are_the_gates_of_forward(kind):
    torch.manual_seed(0)
    module = build_attention(kind, 16, 6, 4).eval()
    randomise_bn(module)
    x = torch.randn(2, 16, 6, 4)
    out = module(x)
    spatial, channel = module.attention_maps(x)
    s = spatial if spatial is not None else torch.ones(2, 1, 6, 4)
    c = channel[:, :, None, None] if channel is not None else torch.ones(2, 16, 1, 1)
    assert (spatial is None or spatial.shape == (2, 1, 6, 4)) and (
        channel is None or channel.shape == (2, 16)
    )
    torch.testing.assert_close(out, s * c * x, rtol=1e-5, atol=1e-6)
    assert (spatial is not None) == (kind != "rga-c")
    assert channel is not None or kind == "rga-s"


def test_norel_builds_no_relation_layers_and_heads_take_one_channel():
    module = build_attention("rga-sc-norel", 16, 6, 4)
    names = {n.split(".")[0] for n, _ in module.named_parameters()}
    assert names == {"gx_spatial", "gx_channel", "W_spatial", "W_channel"}
    # 1-channel head input: hidden width max(1, 1 // 8) = 1.
    assert module.W_spatial[0].weight.shape == (1, 1, 1, 1)
    assert module.W_channel[0].weight.shape == (1, 1, 1, 1)


def test_cbam_works_at_any_size_and_has_reduction_16():
    module = CBAM(64)
    assert module.mlp[0].weight.shape == (4, 64)
    assert module.spatial_conv.weight.shape == (1, 2, 7, 7)
    for size in ((6, 4), (9, 5)):
        assert module(torch.randn(2, 64, *size)).shape == (2, 64, *size)


def test_wrong_feature_map_size_names_both_sizes_and_the_fix():
    module = RGAModule(8, 16, 8, where="conv2_x", stride=4)
    with pytest.raises(ValueError) as info:
        module(torch.randn(1, 8, 8, 4))
    message = str(info.value)
    for part in ("conv2_x", "16x8", "(input 64x32)", "8x4", "(input 32x16)", "height=32, width=16"):
        assert part in message
    with pytest.raises(ValueError, match="expects input"):
        module(torch.randn(1, 4, 16, 8))


def test_bn_uniform_init_draws_gamma_in_unit_interval():
    ones = RGAModule(16, 6, 4)
    uniform = RGAModule(16, 6, 4, bn_init="uniform")
    weights = [m.weight for m in uniform.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(((w >= 0) & (w <= 1)).all() for w in weights)
    assert torch.cat(weights).std() > 0.1
    assert all((m.weight == 1).all() for m in ones.modules() if isinstance(m, nn.BatchNorm2d))


def _cbr_count(cin, cout):
    return cin * cout + 2 * cout


def _expected_count(kind, c, n):
    """Parameter count of one module from the spec 1.2 layer list."""
    if kind == "cbam":
        hidden = c // 16
        return 2 * c * hidden + hidden + c + 2 * 49 + 1
    sw = KINDS[kind]
    c_, n_ = c // 8, n // 8
    rel = sw["use_relation"]

    def head(cin):
        hidden = max(1, cin // 8)
        return cin * hidden + 2 * hidden + hidden + 2

    total = 0
    if sw["spatial"]:
        total += _cbr_count(c, c_) + head(1 + n_ if rel else 1)
        total += (_cbr_count(2 * n, n_) + 2 * _cbr_count(c, c_)) if rel else 0
    if sw["channel"]:
        total += _cbr_count(n, n_) + head(1 + c_ if rel else 1)
        total += (_cbr_count(2 * c, c_) + 2 * _cbr_count(n, n_)) if rel else 0
    return total


@pytest.mark.parametrize("kind", FIRST_KINDS)
def test_resnet50_256x128_modules_match_the_spec_table(kind):
    model = ReIDNet(767, arch="resnet50", kind=kind, positions=(1, 2, 3, 4))
    modules = model.attention_modules
    assert sorted(modules) == [1, 2, 3, 4]
    for stage, module in modules.items():
        c, h, w = SPEC_SHAPES[stage]
        count = sum(p.numel() for p in module.parameters())
        assert count == _expected_count(kind, c, h * w), stage
        if kind != "cbam":
            assert (module.in_channels, module.height, module.width) == (c, h, w)
        if kind == "rga-sc":
            assert count == SPEC_COUNTS[stage]
    if kind == "rga-sc":  # spec 1.8: whole model with 767 classes; feat_bn's bias is frozen
        assert sum(p.numel() for p in model.parameters()) == 31_397_040
        assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 31_394_992
        heads = [
            (m.W_spatial[0].weight.shape[:2], m.W_channel[0].weight.shape[:2])
            for m in modules.values()
        ]
        # Spec 1.2 table: W_spatial (1+N') -> (1+N')//8 and W_channel (1+C') -> (1+C')//8.
        assert heads == [
            ((32, 257), (4, 33)),
            ((8, 65), (8, 65)),
            ((2, 17), (16, 129)),
            ((2, 17), (32, 257)),
        ]


def test_module_copy_keeps_relation_path_switchable():
    """Both paths share parameters: switching `relation` on a copy changes no weights."""
    module = RGAModule(8, 4, 2)
    other = copy.deepcopy(module)
    other.relation = "materialised"
    assert list(module.state_dict()) == list(other.state_dict())

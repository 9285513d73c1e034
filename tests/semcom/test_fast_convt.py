"""Frozen transposed convolutions by route: same outputs and input gradients as torch's, only where eligible."""

import pytest
import torch
from torch import nn

from semcom.link import inference_copy
from semcom.models.nets import ConvDecoder
from semcom.speed import NARROW_OUTPUT, FastConvTranspose2d, fast_transposed_convs


def _frozen(*args, **kwargs):
    torch.manual_seed(0)
    return nn.ConvTranspose2d(*args, **kwargs).eval().requires_grad_(False)


@pytest.mark.parametrize(
    ("conv", "shape", "route"),
    [
        (_frozen(64, 128, 4, 1, 0), (5, 64, 1, 1), "gemm"),  # 1 × 1 input: a pure GEMM
        (_frozen(64, 128, 4, 1, 0, bias=False), (5, 64, 1, 1), "gemm"),
        (_frozen(32, 1, 4, 2, 1), (5, 32, 14, 14), "gemm-overlap-add"),  # the decoder's image layer
        (_frozen(16, 3, 3, 2, 1, bias=False), (4, 16, 5, 7), "gemm-overlap-add"),  # odd kernel, no bias, non-square
        (_frozen(8, 2, 5, 3, 2), (3, 8, 6, 4), "gemm-overlap-add"),  # stride 3
        (_frozen(8, 2, 1, 2, 0), (2, 8, 3, 3), "gemm-overlap-add"),  # kernel smaller than the stride
        (_frozen(8, 3, 2, 3, 1), (2, 8, 4, 5), "gemm-overlap-add"),
        (_frozen(128, 64, 3, 2, 1), (5, 128, 4, 4), "conv-then-bias"),  # the decoder's middle layers
        (_frozen(64, 32, 4, 2, 1), (5, 64, 7, 7), "conv-then-bias"),
        (_frozen(8, 6, 3, 1, 1, bias=False), (2, 8, 5, 6), "conv-then-bias"),
        (_frozen(8, 6, 1, 1, 0), (2, 8, 3, 3), "conv-then-bias"),
        (_frozen(8, 6, 3, 2, 1), (2, 8, 1, 1), "conv-then-bias"),  # 1 × 1 but padded
    ],
)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("weights_channels_last", [False, True])
def test_outputs_and_input_gradients_match_torch(conv, shape, route, channels_last, weights_channels_last):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    gemm = FastConvTranspose2d(conv)
    if weights_channels_last:
        gemm = gemm.to(memory_format=torch.channels_last)
    assert gemm.route(x) == route
    x_ref, x_gemm = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y_ref, y_gemm = conv(x_ref), gemm(x_gemm)
    torch.testing.assert_close(y_gemm, y_ref, atol=1e-5, rtol=1e-5)
    upstream = torch.randn_like(y_ref)
    (g_ref,) = torch.autograd.grad(y_ref, x_ref, upstream)
    (g_gemm,) = torch.autograd.grad(y_gemm, x_gemm, upstream)
    torch.testing.assert_close(g_gemm, g_ref, atol=1e-5, rtol=1e-5)


def test_routes_by_shape_and_device():
    narrow, wide = FastConvTranspose2d(_frozen(8, NARROW_OUTPUT, 4, 2, 1)), FastConvTranspose2d(_frozen(8, 5, 4, 2, 1))
    assert narrow.route(torch.zeros(2, 8, 7, 7)) == "gemm-overlap-add"
    assert wide.route(torch.zeros(2, 8, 7, 7)) == "conv-then-bias"
    assert wide.route(torch.zeros(2, 8, 1, 1)) == "conv-then-bias"  # padded: not a plain reshape
    assert wide.route(torch.zeros(8, 7, 7)) is None  # unbatched: the original layer
    assert wide.route(torch.zeros(2, 8, 7, 7, device="meta")) is None  # not CPU: the original layer


def test_the_gemm_route_returns_a_channels_last_image():
    conv = FastConvTranspose2d(_frozen(64, 128, 4, 1, 0)).to(memory_format=torch.channels_last)
    y = conv(torch.randn(3, 64, 1, 1))
    assert y.shape == (3, 128, 4, 4) and y.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(
    "conv",
    [
        nn.ConvTranspose2d(4, 2, 3, 2, 1),  # trainable weights
        _frozen(4, 2, 3, 2, 1, output_padding=1),
        _frozen(4, 2, 3, 2, 1, dilation=2),
        _frozen(4, 2, 3, 2, 1, groups=2),
        _frozen(4, 2, (3, 5), 2, 1),
    ],
)
def test_layers_it_would_not_reproduce_are_left_alone(conv):
    seq = fast_transposed_convs(nn.Sequential(conv))
    assert seq[0] is conv
    with pytest.raises(ValueError, match="not a plain frozen transposed convolution"):
        FastConvTranspose2d(conv)


@pytest.mark.parametrize(
    ("conv", "shape"),
    [
        (_frozen(64, 16, 4, 1, 0), (4, 64, 1, 1)),
        (_frozen(32, 1, 4, 2, 1), (4, 32, 14, 14)),
        (_frozen(32, 16, 4, 2, 1), (4, 32, 7, 7)),
    ],
)
def test_bf16_autocast_computes_in_bf16_and_stays_close(conv, shape):
    x = torch.randn(shape, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = FastConvTranspose2d(conv)(x)
        y_ref = conv(x)
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), y_ref.float(), atol=5e-2, rtol=5e-2)
    (g,) = torch.autograd.grad(y.float().sum(), x)
    assert g.dtype == torch.float32 and torch.isfinite(g).all()


def test_the_attack_copy_of_the_paper_decoder_uses_it_and_the_original_does_not():
    decoder = ConvDecoder(10, 1, 28).eval()
    fast = inference_copy(decoder)
    wrapped = [m for m in fast.modules() if isinstance(m, FastConvTranspose2d)]
    assert len(wrapped) == 4
    assert not any(isinstance(m, FastConvTranspose2d) for m in decoder.modules())
    z = torch.randn(6, 10)
    torch.testing.assert_close(fast(z), decoder(z), atol=1e-5, rtol=1e-5)

"""Transposed convolutions as GEMMs: same outputs and input gradients as torch's, only where eligible."""

import pytest
import torch
from torch import nn

from semcom.gemm_convt import NARROW_OUTPUT, GemmConvTranspose2d, gemm_transposed_convs
from semcom.link import inference_copy
from semcom.models.nets import ConvDecoder


def _frozen(*args, **kwargs):
    torch.manual_seed(0)
    return nn.ConvTranspose2d(*args, **kwargs).eval().requires_grad_(False)


@pytest.mark.parametrize(("conv", "shape"), [
    (_frozen(64, 128, 4, 1, 0), (5, 64, 1, 1)),                    # 1 × 1 input: a pure GEMM
    (_frozen(32, 1, 4, 2, 1), (5, 32, 14, 14)),                    # the decoder's image layer
    (_frozen(16, 3, 3, 2, 1, bias=False), (4, 16, 5, 7)),          # odd kernel, no bias, non-square
    (_frozen(8, 2, 5, 3, 2), (3, 8, 6, 4)),                        # stride 3
])
@pytest.mark.parametrize("channels_last", [False, True])
def test_outputs_and_input_gradients_match_torch(conv, shape, channels_last):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    gemm = GemmConvTranspose2d(conv)
    assert gemm.pays(x)
    x_ref, x_gemm = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y_ref, y_gemm = conv(x_ref), gemm(x_gemm)
    torch.testing.assert_close(y_gemm, y_ref, atol=1e-5, rtol=1e-5)
    upstream = torch.randn_like(y_ref)
    (g_ref,) = torch.autograd.grad(y_ref, x_ref, upstream)
    (g_gemm,) = torch.autograd.grad(y_gemm, x_gemm, upstream)
    torch.testing.assert_close(g_gemm, g_ref, atol=1e-5, rtol=1e-5)


def test_wide_outputs_of_spatial_inputs_run_the_original_layer():
    conv = _frozen(8, NARROW_OUTPUT + 1, 4, 2, 1)
    gemm = GemmConvTranspose2d(conv)
    x = torch.randn(2, 8, 7, 7)
    assert not gemm.pays(x) and not gemm.pays(torch.zeros(2, 8, 1, 1))  # padded: not a plain reshape
    assert torch.equal(gemm(x), conv(x))


@pytest.mark.parametrize("conv", [
    nn.ConvTranspose2d(4, 2, 3, 2, 1),                                        # trainable weights
    _frozen(4, 2, 3, 2, 1, output_padding=1),
    _frozen(4, 2, 3, 2, 1, dilation=2),
    _frozen(4, 2, 3, 2, 1, groups=2),
    _frozen(4, 2, (3, 5), 2, 1),
])
def test_layers_it_would_not_reproduce_are_left_alone(conv):
    seq = gemm_transposed_convs(nn.Sequential(conv))
    assert seq[0] is conv
    with pytest.raises(ValueError, match="not a plain frozen transposed convolution"):
        GemmConvTranspose2d(conv)


def test_bf16_autocast_computes_in_bf16_and_stays_close():
    conv = _frozen(32, 1, 4, 2, 1)
    x = torch.randn(4, 32, 14, 14, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = GemmConvTranspose2d(conv)(x)
        y_ref = conv(x)
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), y_ref.float(), atol=5e-2, rtol=5e-2)
    (g,) = torch.autograd.grad(y.float().sum(), x)
    assert g.dtype == torch.float32 and torch.isfinite(g).all()


def test_the_attack_copy_of_the_paper_decoder_uses_it_and_the_original_does_not():
    decoder = ConvDecoder(10, 1, 28).eval()
    fast = inference_copy(decoder)
    wrapped = [m for m in fast.modules() if isinstance(m, GemmConvTranspose2d)]
    assert len(wrapped) == 4
    assert not any(isinstance(m, GemmConvTranspose2d) for m in decoder.modules())
    z = torch.randn(6, 10)
    torch.testing.assert_close(fast(z), decoder(z), atol=1e-5, rtol=1e-5)

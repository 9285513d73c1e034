"""Transposed convolutions as one GEMM, for attacks on CPU.

A PGD step through the paper's decoder needs its forward pass and the
gradient with respect to its *input* only (the attacked copy's weights are
frozen). oneDNN's transposed-convolution forward is slow for two shapes the
decoder has (measured, batch 256, 2 threads, `benchmarks/README.md`):

* a 1 × 1 input without padding (the first layer after the linear head): the
  output is just ``x @ W`` reshaped — 0.45 ms as a GEMM against 2.4 ms;
* few output channels (the 32 → 1 image layer): ``x @ W`` to the ``C_out·k²``
  columns and a col2im (:func:`torch.nn.functional.fold`) — 1.7 ms against 5.8 ms.

:class:`GemmConvTranspose2d` computes those forwards that way and the input
gradient as the convolution it is, ``conv2d(grad, W, stride, padding)`` (no
unfold, no graph through the reshapes). Same outputs to float rounding.
On other devices and for other shapes the wrapped layer runs as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GemmConvTranspose2d", "gemm_transposed_convs", "NARROW_OUTPUT"]

NARROW_OUTPUT = 4
"""At most this many output channels: the col2im route pays (it is slower for wide outputs)."""


class _TransposedConv(torch.autograd.Function):
    """``conv_transpose2d(x, W, b, stride, padding)`` by GEMM; gradient for ``x`` only."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):
        ctx.save_for_backward(weight)
        ctx.stride, ctx.padding = stride, padding
        batch, c_in, height, width = x.shape
        c_out, k = weight.shape[1], weight.shape[2]
        rows = x.permute(0, 2, 3, 1).reshape(-1, c_in)  # a free view for channels-last inputs
        cols = rows @ weight.reshape(c_in, -1)  # [B·H·W, C_out·k·k]
        if height == width == 1 and padding == 0:
            out = cols.view(batch, c_out, k, k)
        else:
            size = ((height - 1) * stride - 2 * padding + k, (width - 1) * stride - 2 * padding + k)
            cols = cols.view(batch, height * width, -1).transpose(1, 2)
            out = F.fold(cols, size, k, stride=stride, padding=padding)
        if bias is not None:
            out = out + bias.view(1, -1, 1, 1)
        return out.contiguous(memory_format=torch.channels_last)

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        grad_x = F.conv2d(grad, weight.to(grad.dtype), stride=ctx.stride, padding=ctx.padding)
        return grad_x, None, None, None, None


class GemmConvTranspose2d(nn.Module):
    """A frozen ``nn.ConvTranspose2d`` (square kernel and stride, no output padding, dilation 1,
    one group), computed as a GEMM on CPU where that pays; as the original elsewhere."""

    def __init__(self, conv: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not eligible(conv):
            raise ValueError(f"not a plain frozen transposed convolution: {conv}")
        self.conv = conv
        self.stride, self.padding = conv.stride[0], conv.padding[0]

    def pays(self, x: torch.Tensor) -> bool:
        """CPU, and a 1 × 1 unpadded input or at most :data:`NARROW_OUTPUT` output channels."""
        if x.device.type != "cpu" or x.dim() != 4:
            return False
        return (x.shape[-2:] == (1, 1) and self.padding == 0) or self.conv.out_channels <= NARROW_OUTPUT

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.pays(x):
            return self.conv(x)
        weight, bias = self.conv.weight, self.conv.bias
        if torch.is_autocast_enabled("cpu"):  # compute in autocast's dtype, as it would for the conv
            dtype = torch.get_autocast_dtype("cpu")
            x, weight = x.to(dtype), weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
        with torch.autocast("cpu", enabled=False):
            return _TransposedConv.apply(x, weight, bias, self.stride, self.padding)


def eligible(conv: nn.Module) -> bool:
    """A frozen, plain ConvTranspose2d that the GEMM route reproduces."""
    return (
        type(conv) is nn.ConvTranspose2d
        and not conv.weight.requires_grad
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and len({*conv.kernel_size}) == len({*conv.stride}) == len({*conv.padding}) == 1
        and conv.dilation == (1, 1)
        and conv.output_padding == (0, 0)
    )


def gemm_transposed_convs(module: nn.Module) -> nn.Module:
    """Wrap, in place, each eligible transposed conv of ``module`` in :class:`GemmConvTranspose2d`."""
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if eligible(child):
                setattr(parent, name, GemmConvTranspose2d(child))
    return module

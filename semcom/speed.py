"""Frozen transposed convolutions, computed the way CPU kernels are fastest at.

A PGD step through the paper's decoder needs its forward pass and the
gradient with respect to its *input* only (the attacked copy's weights are
frozen). On CPU, oneDNN's transposed convolution is slow for some shapes the
decoder has (measured, batch 256, 2 threads, ``benchmarks/README.md``), so
:class:`FastConvTranspose2d` picks one of three routes by shape:

* ``"gemm"`` — a 1 × 1 input without padding (the first layer after the
  linear head): the output is ``x @ W`` plus the bias in one ``addmm``,
  reshaped into a channels-last image without a copy (W stored channels-last
  is already ``[C_in, k·k·C_out]``) — 1.8 against 2.7 µs/sample;
* ``"gemm-overlap-add"`` — few output channels (the 32 → 1 image layer): a
  GEMM to every tap's contribution and a few shifted adds (:func:`_overlap_add`)
  — 4.1–4.7 against 7.3 µs/sample by GEMM + col2im, 22 by oneDNN;
* ``"conv-then-bias"`` — every other shape: oneDNN's kernel *without* the
  bias, then the bias added in place (with the bias, oneDNN picks a kernel
  twice as slow for the 128 → 64, 4 → 7 layer: 23 against 11 µs/sample).

The input gradient is the convolution it is, ``conv2d(grad, W, stride,
padding)`` (``grad @ Wᵀ`` on the ``"gemm"`` route): no graph through the
reshapes. Same outputs to float rounding. On other devices the wrapped layer
runs as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FastConvTranspose2d", "fast_transposed_convs", "NARROW_OUTPUT"]

NARROW_OUTPUT = 3
"""At most this many output channels (a grayscale or RGB image layer) take the overlap-add route.

Measured (32 input channels, k 4, stride 2, batch 256, 2 threads), against
oneDNN: 2× faster for 1–2 output channels, 1.5× for 3 at a 14 × 14 input and
on par at 32 × 32; from 4 channels on par or slower, 2.5–6× slower for 8–64."""


def _as_rows(weight: torch.Tensor) -> torch.Tensor:
    """``W [C_in, C_out, k, k]`` as ``[C_in, k·k·C_out]`` (a free view of a channels-last weight)."""
    return weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)


def _padded_kernel(weight: torch.Tensor, stride: int) -> torch.Tensor:
    """``W`` with zero taps appended so that its kernel size is a multiple of ``stride``."""
    k = weight.shape[-1]
    extra = -k % stride
    return F.pad(weight, (0, extra, 0, extra)) if extra else weight


def _overlap_add(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """``conv_transpose2d(x, W, stride, padding)`` as one GEMM to the taps and shifted adds.

    The GEMM gives every tap's contribution, ``[taps, B, H, W]`` (taps first:
    the adds below then run over whole ``B·H·W`` planes). With the kernel padded
    to ``k' = stride·n``, tap ``ky = stride·a + r`` of input row ``i`` lands on
    output row ``stride·(i + a) + r − padding``: per tap offset ``(a_y, a_x)``
    one shifted add of a ``[stride, stride, C_out, B, H, W]`` block — ``n²``
    vectorised adds where :func:`torch.nn.functional.fold` (col2im) scatters
    element by element (twice as slow for the 32 → 1 image layer).
    """
    batch, c_in, height, width = x.shape
    c_out, k = weight.shape[1], weight.shape[2]
    padded = _padded_kernel(weight, stride)
    n = padded.shape[-1] // stride  # taps per output phase and axis
    taps = padded.permute(2, 3, 1, 0).reshape(-1, c_in)  # [(k_y, k_x, c_out), c_in]
    planes = x.transpose(0, 1).reshape(c_in, -1)  # [C_in, B·H·W] (a copy: faster than a transposed GEMM operand)
    cols = (taps @ planes).view(n, stride, n, stride, c_out, batch, height, width)
    acc = cols.new_zeros(stride, stride, c_out, batch, height + n - 1, width + n - 1)
    for a_y in range(n):
        for a_x in range(n):
            acc[..., a_y : a_y + height, a_x : a_x + width] += cols[a_y, :, a_x]
    image = acc.permute(3, 2, 4, 0, 5, 1).reshape(batch, c_out, stride * (height + n - 1), stride * (width + n - 1))
    out_h, out_w = (height - 1) * stride - 2 * padding + k, (width - 1) * stride - 2 * padding + k
    return image[:, :, padding : padding + out_h, padding : padding + out_w]


class _TransposedConv(torch.autograd.Function):
    """``conv_transpose2d(x, W, b, stride, padding)`` by ``route``; gradient for ``x`` only."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, route):
        ctx.save_for_backward(weight)
        ctx.stride, ctx.padding, ctx.route = stride, padding, route
        batch, c_in, height, width = x.shape
        c_out, k = weight.shape[1], weight.shape[2]
        if route == "gemm":
            rows = x.reshape(batch, c_in)
            cols = rows @ _as_rows(weight) if bias is None else torch.addmm(bias.repeat(k * k), rows, _as_rows(weight))
            return cols.view(batch, k, k, c_out).permute(0, 3, 1, 2)  # channels-last, no copy
        if route == "gemm-overlap-add":
            out = _overlap_add(x, weight, stride, padding)
        else:
            out = F.conv_transpose2d(x, weight, None, stride, padding)
        if bias is not None:
            out = out.add_(bias.view(1, -1, 1, 1))
        return out.contiguous(memory_format=torch.channels_last)

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        weight = weight.to(grad.dtype)
        if ctx.route == "gemm":
            rows = grad.permute(0, 2, 3, 1).reshape(grad.shape[0], -1)  # free for a channels-last grad
            grad_x = (rows @ _as_rows(weight).T).view(grad.shape[0], -1, 1, 1)
        else:
            grad_x = F.conv2d(grad, weight, stride=ctx.stride, padding=ctx.padding)
        return grad_x, None, None, None, None, None


class FastConvTranspose2d(nn.Module):
    """A frozen ``nn.ConvTranspose2d`` (square kernel and stride, no output padding, dilation 1,
    one group), computed by the fastest route for its shape on CPU; as the original elsewhere."""

    def __init__(self, conv: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not eligible(conv):
            raise ValueError(f"not a plain frozen transposed convolution: {conv}")
        self.conv = conv
        self.stride, self.padding = conv.stride[0], conv.padding[0]

    def route(self, x: torch.Tensor) -> str | None:
        """``"gemm"``, ``"gemm-overlap-add"`` or ``"conv-then-bias"`` for a CPU input; None elsewhere."""
        if x.device.type != "cpu" or x.dim() != 4:
            return None
        if x.shape[-2:] == (1, 1) and self.padding == 0:
            return "gemm"
        return "gemm-overlap-add" if self.conv.out_channels <= NARROW_OUTPUT else "conv-then-bias"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        route = self.route(x)
        if route is None:
            return self.conv(x)
        weight, bias = self.conv.weight, self.conv.bias
        if torch.is_autocast_enabled("cpu"):  # compute in autocast's dtype, as it would for the conv
            dtype = torch.get_autocast_dtype("cpu")
            x, weight = x.to(dtype), weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
        with torch.autocast("cpu", enabled=False):
            return _TransposedConv.apply(x, weight, bias, self.stride, self.padding, route)


def eligible(conv: nn.Module) -> bool:
    """A frozen, plain ConvTranspose2d that the routes reproduce."""
    return (
        type(conv) is nn.ConvTranspose2d
        and not conv.weight.requires_grad
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and len({*conv.kernel_size}) == len({*conv.stride}) == len({*conv.padding}) == 1
        and conv.dilation == (1, 1)
        and conv.output_padding == (0, 0)
    )


def fast_transposed_convs(module: nn.Module) -> nn.Module:
    """Wrap, in place, each eligible transposed conv of ``module`` in :class:`FastConvTranspose2d`."""
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if eligible(child):
                setattr(parent, name, FastConvTranspose2d(child))
    return module

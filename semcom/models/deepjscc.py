"""DeepJSCC: the conv autoencoder trained end to end through the channel.

E. Bourtsoulatze, D. B. Kurka and D. Gündüz, "Deep Joint Source-Channel
Coding for Wireless Image Transmission", IEEE Trans. Cognitive Communications
and Networking 5(3), 2019 (arXiv:1809.01733), Fig. 2:

* encoder: five 5×5 convolutions (16 filters stride 2, 32 stride 2, 32, 32,
  ``c`` stride 1), each followed by a PReLU; then the normalisation layer to
  the per-image average-power constraint;
* decoder: the mirror, five 5×5 transposed convolutions (32, 32, 32, 16 with
  PReLU, the last to the image channels with a sigmoid).

The code ``c × H/4 × W/4`` (real values, flattened) is the latent ``k`` the
link carries as ``k/2`` complex channel uses per image, so the bandwidth
ratio ``k/n`` (channel uses per source value, ``n = C·H·W``) fixes
``c = 32·C·(k/n)``. The normalisation layer is
:class:`channels.PerImagePower`; semcom applies it at the transmitter of
every model trained with ``power: per_image`` (docs/design.md §7), so it is
not repeated in :class:`DeepJSCCEncoder`.

Initialisation: He (Kaiming) normal for a PReLU of slope 0.25, zero biases. With
PyTorch's default initialisation the five unnormalised layers collapse on MNIST to
an all-black output within an epoch (loss stuck at Σx², with or without the channel,
at learning rates 1e-4 to 2e-3); with He initialisation they learn.
"""

from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn

__all__ = ["DeepJSCCEncoder", "DeepJSCCDecoder", "deepjscc_nets", "code_channels"]

DEFAULT_BANDWIDTH_RATIO = 1 / 16
"""Channel uses per source value when a scenario gives none (valid for grey and RGB)."""


def code_channels(image_shape: tuple[int, int, int], bandwidth_ratio: float) -> int:
    """Channels ``c`` of the code for ``image_shape (C, H, W)`` at ``k/n = bandwidth_ratio``.

    Raises ValueError when the size is not divisible by 4 or the ratio gives no whole
    number of channels or channel uses.
    """
    chans, h, w = image_shape
    if h % 4 or w % 4:
        raise ValueError(f"DeepJSCC needs an image size divisible by 4; got {h}×{w}")
    c = Fraction(bandwidth_ratio).limit_denominator(10_000) * 32 * chans
    if c.denominator != 1 or c < 1:
        raise ValueError(f"`bandwidth_ratio` {bandwidth_ratio} gives {float(c):g} code channels "
                         f"(32·C·k/n with C = {chans}); choose k/n with 32·C·k/n a whole number ≥ 1, "
                         f"e.g. 1/{32 * chans}, 1/{16 * chans} or 1/{8 * chans}")
    if (int(c) * (h // 4) * (w // 4)) % 2:
        raise ValueError(f"`bandwidth_ratio` {bandwidth_ratio} gives an odd number of real code values "
                         f"({int(c)}·{h // 4}·{w // 4}): not a whole number of complex channel uses")
    return int(c)


def _he_init(module: nn.Module) -> nn.Module:
    """He-normal weights for PReLU(0.25) and zero biases on every (transposed) convolution."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_normal_(m.weight, a=0.25, nonlinearity="leaky_relu")
            nn.init.zeros_(m.bias)
    return module


def _conv(cin: int, cout: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 5, stride, 2), nn.PReLU(cout)]


def _deconv(cin: int, cout: int, stride: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride, 2, output_padding=stride - 1)


class DeepJSCCEncoder(nn.Module):
    """Image ``[B, C, H, W]`` in [0, 1] → code ``[B, c·H/4·W/4]`` (before the power normalisation)."""

    def __init__(self, in_channels: int, code: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv(in_channels, 16, 2), *_conv(16, 32, 2), *_conv(32, 32, 1),
                                  *_conv(32, 32, 1), *_conv(32, code, 1), nn.Flatten())
        _he_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class DeepJSCCDecoder(nn.Module):
    """Code ``[B, c·H/4·W/4]`` → image ``[B, C, H, W]`` in [0, 1] (the encoder's mirror)."""

    def __init__(self, code: int, out_channels: int, height: int, width: int) -> None:
        super().__init__()
        self.shape = (code, height // 4, width // 4)
        self.body = nn.Sequential(
            _deconv(code, 32, 1), nn.PReLU(32), _deconv(32, 32, 1), nn.PReLU(32),
            _deconv(32, 32, 1), nn.PReLU(32), _deconv(32, 16, 2), nn.PReLU(16),
            _deconv(16, out_channels, 2), nn.Sigmoid())
        _he_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z.reshape(z.shape[0], *self.shape))


def deepjscc_nets(image_shape: tuple[int, int, int], bandwidth_ratio: float | None = None
                  ) -> tuple[nn.Module, nn.Module, int]:
    """``(encoder, decoder, k)`` of DeepJSCC for ``image_shape (C, H, W)`` at ``k/n``; ``k`` real values."""
    ratio = DEFAULT_BANDWIDTH_RATIO if bandwidth_ratio is None else bandwidth_ratio
    chans, h, w = image_shape
    code = code_channels(tuple(image_shape), ratio)
    k = code * (h // 4) * (w // 4)
    return DeepJSCCEncoder(chans, code), DeepJSCCDecoder(code, chans, h, w), k

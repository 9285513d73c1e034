"""The paper's convolutional encoder and mirrored decoder (§3.1.2).

Four convolutions with 32, 64, 128 and 64 channels, each followed by
BatchNorm2d and LeakyReLU; a linear layer maps the flattened features to the
latent (twice the latent size for a variational encoder: mean and log-variance).
The decoder mirrors it with transposed convolutions and ends in a sigmoid so
that images stay in [0, 1]. Geometries exist for 28×28 (MNIST, Fashion-MNIST)
and 64×64 (CelebA) inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ConvEncoder", "ConvDecoder", "GEOMETRIES"]

CHANNELS = (32, 64, 128, 64)


@dataclass(frozen=True)
class _Layer:
    kernel: int
    stride: int
    padding: int


# Per input size: one (kernel, stride, padding) per conv layer, and the spatial
# size after the last one. 28 → 14 → 7 → 4 → 1;  64 → 32 → 16 → 8 → 4.
GEOMETRIES: dict[int, tuple[tuple[_Layer, ...], int]] = {
    28: ((_Layer(4, 2, 1), _Layer(4, 2, 1), _Layer(3, 2, 1), _Layer(4, 1, 0)), 1),
    64: ((_Layer(4, 2, 1), _Layer(4, 2, 1), _Layer(4, 2, 1), _Layer(4, 2, 1)), 4),
}


def _geometry(image_size: int) -> tuple[tuple[_Layer, ...], int]:
    if image_size not in GEOMETRIES:
        valid = ", ".join(str(s) for s in sorted(GEOMETRIES))
        raise ValueError(f"`image_size` must be one of {valid}; got {image_size}")
    return GEOMETRIES[image_size]


class ConvEncoder(nn.Module):
    """Image ``[B, C, H, W]`` in [0, 1] → features ``[B, out_features]``.

    ``out_features`` is the latent size for deterministic encoders and twice
    it (mean ‖ log-variance) for variational ones.
    """

    def __init__(self, in_channels: int, image_size: int, out_features: int) -> None:
        super().__init__()
        layers, final = _geometry(image_size)
        blocks: list[nn.Module] = []
        prev = in_channels
        for ch, lay in zip(CHANNELS, layers, strict=True):
            blocks += [
                nn.Conv2d(prev, ch, lay.kernel, lay.stride, lay.padding),
                nn.BatchNorm2d(ch),
                nn.LeakyReLU(0.2),
            ]
            prev = ch
        self.features = nn.Sequential(*blocks, nn.Flatten())
        self.head = nn.Linear(CHANNELS[-1] * final * final, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ConvDecoder(nn.Module):
    """Latent ``[B, latent_dim]`` → image ``[B, C, H, W]`` in [0, 1] (mirror of the encoder)."""

    def __init__(self, latent_dim: int, out_channels: int, image_size: int) -> None:
        super().__init__()
        layers, final = _geometry(image_size)
        self.latent_dim = latent_dim
        self._final = final
        self.head = nn.Linear(latent_dim, CHANNELS[-1] * final * final)
        mirrored = list(zip(CHANNELS[::-1], layers[::-1], strict=True))
        blocks: list[nn.Module] = []
        for i, (ch, lay) in enumerate(mirrored):
            last = i == len(mirrored) - 1
            out = out_channels if last else mirrored[i + 1][0]
            blocks.append(nn.ConvTranspose2d(ch, out, lay.kernel, lay.stride, lay.padding))
            blocks += [nn.Sigmoid()] if last else [nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.head(z).view(z.shape[0], CHANNELS[-1], self._final, self._final)
        return self.body(h)

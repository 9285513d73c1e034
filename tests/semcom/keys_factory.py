"""A plug-in factory whose store key ``tests/semcom/test_model_keys.py`` pins.

The key holds this file's SHA-256 (docs/api.md: a factory's source is part of its model's key), so
this file must not change: edit it and the pinned plug-in key in test_model_keys.py changes too.
"""

from __future__ import annotations

from torch import nn

import semcom


@semcom.factory
def tiny(latent_dim: int = 4):
    """A linear encoder and decoder for 28×28 grey images."""
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, latent_dim))
    decoder = nn.Sequential(nn.Linear(latent_dim, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))
    return encoder, decoder

"""``consistency``: TRADES-style hardening (Zhang et al., ICML 2019), for reconstructions.

Loss ``MSE(G'(z), x) + β·MSE(G'(z + δ), G'(z))``: fidelity on the clean latent
plus β times the output change under a worst-case perturbation, ``δ`` from
untargeted PGD at ``ε_train`` maximising the second term (distance ``mse``).
Both terms are per-image sums of squared errors (the hardening loss' unit);
the gradient flows through ``G'(z)`` in both, as in TRADES. β trades clean
quality for stability.
"""

from __future__ import annotations

import torch
from pydantic import Field

from adversary import pgd
from semcom.defenses.base import Defense, DefenseSettings, register_defense, sse


class ConsistencySettings(DefenseSettings):
    """Settings of the ``consistency`` defence."""

    beta: float = Field(1.0, gt=0, le=1e3)
    """Weight β of the consistency term ``MSE(G'(z + δ), G'(z))``."""


@register_defense("consistency")
class Consistency(Defense):
    description = "TRADES-style: MSE(G'(z), x) + β·MSE(G'(z+δ), G'(z)), δ from PGD on the second term"
    Settings = ConsistencySettings

    def loss(self, deliver, z, x, gen, receiver, attack=None):
        attack = attack or deliver
        mode = receiver.training
        receiver.eval()
        with torch.no_grad():
            clean = attack(z)
        delta = pgd(attack, z, eps=self.cfg.eps, reference=clean, distance="mse", steps=self.cfg.steps,
                    random_start=True, generator=gen).delta
        receiver.train(mode)
        out = deliver(z)
        return sse(out, x) + self.settings.beta * sse(deliver(z + delta), out)

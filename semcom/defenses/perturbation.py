"""Defences whose loss is ``MSE(G'(z + δ), x)``: they differ in δ (docs/design.md §3).

* ``adversarial`` — PGD at a single ``ε_train`` (paper Algorithm 1);
* ``adversarial-multi-eps`` — PGD at ``ε_train ~ U[0, ε_max]`` drawn per batch;
* ``noise`` — Gaussian noise of the same budget (is PGD worth its cost?);
* ``finetune`` — the control: the same loop and optimizer steps, ``δ = 0``.
"""

from __future__ import annotations

import torch

from adversary import gaussian_jamming, pgd
from semcom.defenses.base import Defense, register_defense


@register_defense("adversarial")
class Adversarial(Defense):
    description = "latent adversarial training at ε_train (paper Algorithm 1)"
    in_training = True

    def perturbation(self, forward, z, clean, gen):
        return _pgd(forward, z, clean, self.cfg.eps, self.cfg, gen)


@register_defense("adversarial-multi-eps")
class AdversarialMultiEps(Defense):
    description = "adversarial training with ε_train ~ U[0, ε_max] per batch"
    in_training = True

    def perturbation(self, forward, z, clean, gen):
        drawn = float(torch.rand((), generator=gen)) * self.cfg.eps
        return _pgd(forward, z, clean, drawn, self.cfg, gen) if drawn > 0 else torch.zeros_like(z)


@register_defense("noise")
class Noise(Defense):
    description = "Gaussian-noise augmentation at the same budget"
    in_training = True

    def perturbation(self, forward, z, clean, gen):
        return gaussian_jamming(z, self.cfg.eps, generator=gen)


@register_defense("finetune")
class FineTune(Defense):
    description = "the control: the same fine-tuning with no perturbation (δ = 0)"
    in_training = True
    needs_eps = False


def _pgd(forward, z, clean, eps, cfg, gen):
    return pgd(forward, z, eps=eps, reference=clean, distance=cfg.distance, steps=cfg.steps, generator=gen).delta

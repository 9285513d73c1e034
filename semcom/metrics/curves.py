"""DD-curves from your own tensors: one attack swept over ε, a metric per ε, and its AADDC.

A distortion–distortion curve (paper §3.1.2) is a metric of the received
images against the budget ε of the perturbation added to the latent. Given
``deliver`` — everything after the adversary (channel and receiver), as a
function of the latent — clean latents ``z`` and the images ``x`` to compare
with, :func:`dd_curve` runs the attack at every ε and averages the metric;
:meth:`DDCurve.aaddc` is the area between the curve and a baseline per unit
of ε (higher = more robust). Scenario runs do the same per grid point with
batching and paired channel draws (:mod:`semcom.study.sweep`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from adversary import gaussian_jamming, pgd
from semcom.metrics.quality import aaddc, get_metric

__all__ = ["ATTACKS", "DDCurve", "dd_curve"]

Deliver = Callable[[torch.Tensor], torch.Tensor]


def _untargeted_pgd(deliver: Deliver, z: torch.Tensor, clean: torch.Tensor, eps: float,
                    norm: str, gen: torch.Generator, options: dict[str, Any]) -> torch.Tensor:
    return pgd(lambda d: deliver(z + d), z, eps=eps, reference=clean, norm=norm, generator=gen,
               **options).delta


def _jamming(deliver: Deliver, z: torch.Tensor, clean: torch.Tensor, eps: float, norm: str,
             gen: torch.Generator, options: dict[str, Any]) -> torch.Tensor:
    return gaussian_jamming(z, eps, norm=norm, generator=gen)


ATTACKS: dict[str, Callable[..., torch.Tensor]] = {
    "pgd": _untargeted_pgd,  # maximise D(deliver(z + δ), deliver(z)); options go to adversary.pgd
    "gaussian": _jamming,  # equal-energy Gaussian jamming, the no-intelligence reference
}
"""Attacks :func:`dd_curve` sweeps, by name."""


@dataclass(frozen=True)
class DDCurve:
    """A metric against the budget ε: ``values[i]`` is the mean metric at ``eps[i]``."""

    metric: str
    attack: str
    eps: list[float]
    values: list[float]

    def aaddc(self, baseline: float | None = None) -> float:
        """Area between the curve and ``baseline`` per unit of ε (the metric's default baseline
        when None: 0 for SSIM/PSNR, 1 for MSE/LPIPS); higher = more robust."""
        m = get_metric(self.metric)
        base = m.default_baseline if baseline is None else baseline
        return aaddc(self.eps, self.values, higher_is_better=m.higher_is_better, baseline=base)


def dd_curve(
    deliver: Deliver,
    z: torch.Tensor,
    x: torch.Tensor,
    eps: Sequence[float],
    *,
    metric: str = "ssim",
    attack: str = "pgd",
    norm: str = "l2",
    seed: int = 0,
    **pgd_options: Any,
) -> DDCurve:
    """Sweep ``attack`` over ``eps`` on latents ``z`` and measure ``metric`` against ``x``.

    Args:
        deliver: ``z' [B, k] -> x̂ [B, C, H, W]``, differentiable: the channel
            and receiver after the adversary, its modules in eval mode (the
            attack leaves their mode and gradients alone). A random channel may draw on
            every call; pass a fixed-seed generator inside ``deliver`` for
            paired comparisons (the attacker then knows the channel draw).
        z: clean latents ``[B, k]``.
        x: the images to compare with ``[B, C, H, W]`` (the inputs, for the
            end-to-end DD-curve; or the clean outputs).
        eps: increasing budgets (latent units; ``‖δ‖₂ ≤ ε`` per sample for ``l2``).
        metric: a name in :data:`semcom.metrics.quality.METRICS`.
        attack: a name in :data:`ATTACKS`.
        norm: ``"l2"`` or ``"linf"``.
        seed: seeds the attack's random draws.
        **pgd_options: passed to :func:`adversary.pgd` (``steps``, ``alpha``,
            ``distance``, ``eot``, ``restarts``, …).

    Returns:
        The :class:`DDCurve`; ε = 0 is the unattacked link.
    """
    if attack not in ATTACKS:
        raise ValueError(f"`attack` must be one of {sorted(ATTACKS)}; got {attack!r}")
    m = get_metric(metric)
    gen = torch.Generator(z.device).manual_seed(seed)
    values = []
    with torch.no_grad():
        clean = deliver(z)
    for e in eps:
        delta = (torch.zeros_like(z) if e == 0 else
                 ATTACKS[attack](deliver, z, clean, float(e), norm, gen, pgd_options))
        with torch.no_grad():
            values.append(m.fn(deliver(z + delta), x).mean().item())
    return DDCurve(metric, attack, [float(e) for e in eps], values)

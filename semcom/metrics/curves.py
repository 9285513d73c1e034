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

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from semcom.attacks.base import make_attack
from semcom.metrics.quality import aaddc, get_metric

__all__ = ["DDCurve", "dd_curve"]

Deliver = Callable[[torch.Tensor], torch.Tensor]


class _Curve:
    """What an attack of :mod:`semcom.attacks` needs of its threat, for a bare ``deliver``:
    the perturbation is added to the latent and the untargeted reference is the clean output."""

    def __init__(self, deliver: Deliver, norm: str) -> None:
        self.deliver, self.norm = deliver, norm
        self.link = self  # no attack path to switch to: ``deliver`` is differentiable as given

    @contextlib.contextmanager
    def attack_path(self) -> Iterator[None]:
        yield

    def forward(self, z: torch.Tensor, gen: torch.Generator) -> Deliver:
        return lambda d: self.deliver(z + d)

    def reference(self, clean: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, bool]:
        return clean, False

    def at_budget(self, delta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return delta


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
    **settings: Any,
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
        attack: a registered attack kind with one budget per sample (``semcom list`` shows them;
            untargeted: ``pgd``, ``blackbox``, ``gaussian``).
        norm: ``"l2"`` or ``"linf"``.
        seed: seeds the attack's random draws.
        **settings: the attack's settings, as in a scenario (PGD: ``steps``, ``alpha_factor``,
            ``distance``, ``eot``, ``restarts``, …; docs/scenario.md).

    Returns:
        The :class:`DDCurve`; ε = 0 is the unattacked link.
    """
    try:
        chosen = make_attack(attack, **settings)
    except ValueError as err:  # an unknown kind or a bad setting (pydantic's errors are ValueErrors)
        raise ValueError(f"`attack` {attack!r}: {' '.join(str(err).split())}") from None
    if not chosen.per_sample or getattr(chosen, "target", None) is not None:
        raise ValueError(f"`attack` must be an untargeted attack with a budget per sample; got {attack!r}")
    curve = _Curve(deliver, norm)
    m = get_metric(metric)
    gen = torch.Generator(z.device).manual_seed(seed)
    values = []
    with torch.no_grad():
        clean = deliver(z)
    for e in eps:
        budget = torch.full_like(z[:, 0], float(e))
        delta = torch.zeros_like(z) if e == 0 else chosen.perturb_within(curve, z, clean, budget, gen).delta
        with torch.no_grad():
            values.append(m.fn(deliver(z + delta), x).mean().item())
    return DDCurve(metric, attack, [float(e) for e in eps], values)

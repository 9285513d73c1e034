"""The attack sweep engine: one link, one attack, every budget.

For each chunk of test images the clean latents and reconstructions are
computed once; each attacked budget then runs the attack (no attack work at
ε = 0) and the attacked link is evaluated over *evaluation* channel draws that
are the same for every attack and budget (paired comparison), seeded apart from
the draws the attacker optimised over: every attack is judged on fresh channels.
Budgets, placements and attack kinds are the :mod:`semcom.attacks.threats`. NaN or Inf
in a latent or an output stops the sweep with :class:`NonFiniteError` rather
than being averaged into the report.

Besides the metrics, the sweep keeps what the paper's latent figures need:
the dimension-wise mean absolute latent difference ``mean_b |δ_bj|`` per
budget (paper Eq. 7; the adversarial latent is ``z + δ``), and the clean and
adversarial latents of the first ``latent_samples`` images at the largest
budget (for a t-SNE), and the link's resources (channel uses per image,
average transmitted power). All of these are in the space of the link's
transmitted signal (:meth:`semcom.link.Link.signal`): the latent on a learned
link, the QAM symbols' real view on the digital link (docs/design.md §7).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from semcom.attacks.threats import Engagement
from semcom.metrics import perceptual as _perceptual  # noqa: F401  (registers the "lpips" PGD distance)
from semcom.metrics.quality import MetricTally, get_metric

__all__ = ["SweepResult", "NonFiniteError", "sweep_attack", "derive_seed"]



def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed derived deterministically from ints and strings."""
    ints = [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return int(np.random.SeedSequence(ints).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


class NonFiniteError(ArithmeticError):
    """NaN or Inf in the latents or the link's outputs at one budget (``str`` says which)."""

    def __init__(self, where: str, budget: float, axis: str = "eps") -> None:
        super().__init__(where, budget, axis)
        self.where, self.budget, self.axis = where, budget, axis

    def __str__(self) -> str:
        at = f"ε={self.budget:g}" if self.axis == "eps" else f"PSR={self.budget:g} dB"
        return f"NaN/Inf in the {self.where} at {at}"


def _check_finite(t: torch.Tensor, where: str, budget: float, axis: str = "eps") -> torch.Tensor:
    if not torch.isfinite(t).all():
        raise NonFiniteError(where, budget, axis)
    return t


@dataclass
class SweepResult:
    """Per-budget results: metrics (against the input and the clean link output) and budgets.

    ``budgets`` are the sweep's values on its axis (ε, or PSR in dB); ``eps``
    the mean latent budget per sample; ``psr_db`` the mean per-sample PSR of
    the perturbations (None without one); ``queries`` the receiver queries per
    sample of a query-only attack (None for others).
    """

    eps: list[float]
    metrics: list[dict[str, float]]
    metrics_vs_clean: list[dict[str, float]]
    psr_db: list[float | None]
    grid: np.ndarray = field(repr=False)  # [len(budgets), S, C, H, W] outputs of the first samples
    budgets: list[float] = field(default_factory=list)
    queries: list[int | None] = field(default_factory=list)
    latent_abs_diff: list[list[float]] = field(default_factory=list)  # [budgets][k]: Eq. 7 per budget
    latents: np.ndarray | None = field(default=None, repr=False)  # [2, L, k]: clean, adv. at the last budget
    certificate: dict | None = None  # semcom.defenses.certificate.sweep_certificate's record, for smoothed receivers
    clean: dict[str, float] = field(default_factory=dict)  # the clean link's output against the input
    break_power: list[dict] | None = None  # per threshold: semcom.attacks.break_power.summarise records
    channel_uses: float | None = None  # complex channel uses per image (docs/design.md §7)
    avg_power: float | None = None  # mean |x|² of the clean transmitted symbols


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device).manual_seed(seed)


def sweep_attack(
    engagement: Engagement,
    images: torch.Tensor,
    budgets: Sequence[float],
    *,
    metric_names: Sequence[str],
    grid_samples: int = 6,
    latent_samples: int = 300,
) -> SweepResult:
    """Run the engagement's attack at every budget on ``images [N, C, H, W]`` through its link.

    ``budgets`` are ε (``budget_axis="eps"``; 0 is the clean link) or PSRs in
    dB (``"psr_db"``). The engagement's ``labels [N]`` and ``classifier`` feed the
    semantic metrics; its ``train`` (images, labels) the universal attack and
    ``class:<k>`` targets. ``precision="bf16"`` runs the attack's and the evaluation's
    passes through the link under bfloat16 autocast (latents, budgets and metrics stay
    fp32); it pays on GPUs and CPUs with native bf16, and is measured by
    ``benchmarks/attack_throughput.py``.
    """
    e = engagement
    attack, labels, classifier, batch_size, seed, budget_axis = (
        e.attack, e.labels, e.classifier, e.batch_size, e.seed, e.budget_axis)
    device, autocast = e.device, e.autocast()
    metrics = [get_metric(m) for m in metric_names]
    given = {"labels": labels, "classifier": classifier}
    for m in metrics:
        missing = [k for k in m.needs if given[k] is None]
        if missing:
            raise ValueError(f"metric {m.name!r} needs {' and '.join(missing)}")
    label_chunks = labels.split(batch_size) if labels is not None else None
    n_points = len(budgets)
    tally, tally_clean = MetricTally(metrics, n_points), MetricTally(metrics, n_points)
    tally_link = MetricTally(metrics, 1)  # the unattacked link against the input (PSNR vs SNR)
    eps_sum, psr_sum = np.zeros(n_points), np.zeros(n_points)
    queries: list[int | None] = [None] * n_points
    grid: list[list[torch.Tensor]] = [[] for _ in budgets]
    abs_delta_sum = [torch.zeros(()) for _ in budgets]  # each becomes [k]
    clean_z: list[torch.Tensor] = []
    adv_z: list[torch.Tensor] = []  # z + δ at the last budget
    threat = e.threat
    link = threat.link
    uses, power_sum = 0.0, 0.0
    for chunk_index, x in enumerate(images.split(batch_size)):
        x = x.to(device)
        eval_seed = derive_seed(seed, "eval", chunk_index)
        with torch.no_grad():
            z = _check_finite(link.transmitter(x), "latents", 0.0)
            s = link.signal(z)  # what is in transit: z itself on a learned link (docs/design.md §7)
            used = link.resources(z)
            uses, power_sum = used["channel_uses"], power_sum + used["avg_power"] * x.shape[0]
            with autocast:
                # The noiseless link output: at δ = 0 an untargeted attack's loss is then exactly
                # zero on an ideal link, and its first step deterministic (see adversary.pgd).
                clean_ideal = _check_finite(link.receiver(link.mapper.to_symbols(z)).float(), "outputs", 0.0)
                clean_link = link.deliver(z, generator=_generator(device, eval_seed))
            clean_link = _check_finite(clean_link.float(), "outputs", 0.0)
        context, clean_context = {"classifier": classifier}, {"classifier": classifier}
        if label_chunks is not None:
            context["labels"] = label_chunks[chunk_index].to(device)
        if classifier is not None:  # against the clean output: the class it is given
            clean_context["labels"] = classifier.predict(clean_link)
        with torch.no_grad():
            tally_link.add(0, clean_link, x, **context)
        for i, value in enumerate(budgets):
            if budget_axis == "eps" and value == 0:
                delta = torch.zeros_like(s)
            else:
                gen = _generator(device, derive_seed(seed, attack.name, chunk_index, i))
                with autocast:
                    attacked = threat.perturb(s, clean_ideal, float(value), gen)
                delta, queries[i] = attacked.delta.float(), attacked.queries
                eps_sum[i] += attacked.eps.sum().item()
            with torch.no_grad():
                _check_finite(s + delta, "attacked latents", value, budget_axis)
                fresh = _generator(device, eval_seed)  # not the draws the attack saw
                with autocast:
                    out = threat.forward(s, fresh)(delta)
                out = _check_finite(out.float(), "outputs", value, budget_axis)
                tally.add(i, out, x, **context)
                tally_clean.add(i, out, clean_link, **clean_context)
                ratio = delta.pow(2).sum(1) / s.pow(2).sum(1).clamp_min(1e-12)  # [B]
                psr_sum[i] += ratio.sum().item()
                abs_delta_sum[i] = abs_delta_sum[i] + delta.abs().sum(0).cpu()  # [k]
                if i == n_points - 1:
                    clean_z.append(s.cpu())
                    adv_z.append((s + delta).cpu())
            have = sum(t.shape[0] for t in grid[i])
            if have < grid_samples:
                grid[i].append(out[: grid_samples - have].cpu())
    n = images.shape[0]
    return SweepResult(
        eps=[float(b) for b in budgets] if budget_axis == "eps" else (eps_sum / n).tolist(),
        metrics=[tally.values(i) for i in range(n_points)],
        metrics_vs_clean=[tally_clean.values(i) for i in range(n_points)],
        psr_db=[10 * math.log10(p / n) if p > 0 else None for p in psr_sum],
        grid=torch.stack([torch.cat(g) for g in grid]).numpy(),
        budgets=[float(b) for b in budgets],
        queries=queries,
        latent_abs_diff=[(a / n).tolist() for a in abs_delta_sum],
        latents=torch.stack([torch.cat(clean_z), torch.cat(adv_z)])[:, :latent_samples].numpy(),
        clean=tally_link.values(0),
        channel_uses=uses,
        avg_power=power_sum / n,
    )

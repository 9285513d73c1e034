"""The attack sweep engine: one link, one attack, every budget ε.

For each chunk of test images the clean latents and reconstructions are
computed once; each ε > 0 then runs the attack (no attack work at ε = 0) and
the attacked link is evaluated over *evaluation* channel draws that are the
same for every attack and ε (paired comparison), seeded apart from the draws
the attacker optimised over. NaN or Inf in a latent or an output stops the
sweep with :class:`NonFiniteError` rather than being averaged into the report.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from adversary import gaussian_jamming, make_target, pgd
from semcom.link import Link, inference_copy
from semcom.metrics import get_metric

__all__ = ["AttackSpec", "SweepResult", "NonFiniteError", "sweep_attack", "derive_seed", "PRECISIONS"]

PRECISIONS = ("fp32", "bf16")


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed derived deterministically from ints and strings."""
    ints = [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return int(np.random.SeedSequence(ints).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


class NonFiniteError(ArithmeticError):
    """NaN or Inf in the latents or the link's outputs at one ε (``str`` says which)."""

    def __init__(self, where: str, eps: float) -> None:
        super().__init__(where, eps)
        self.where, self.eps = where, eps

    def __str__(self) -> str:
        return f"NaN/Inf in the {self.where} at ε={self.eps:g}"


def _check_finite(t: torch.Tensor, where: str, eps: float) -> torch.Tensor:
    if not torch.isfinite(t).all():
        raise NonFiniteError(where, eps)
    return t


@dataclass(frozen=True)
class AttackSpec:
    """What the sweep needs to know of one attack (built from a scenario entry)."""

    name: str
    kind: str  # "pgd" | "gaussian"
    target: str | None = None
    distance: str = "mse"
    steps: int = 10
    alpha_factor: float = 2.5
    random_start: bool = False


@dataclass
class SweepResult:
    """Per-ε means of each metric (against the input and the clean link output)."""

    eps: list[float]
    metrics: list[dict[str, float]]
    metrics_vs_clean: list[dict[str, float]]
    psr_db: list[float | None]
    grid: np.ndarray = field(repr=False)  # [len(eps), S, C, H, W] attacked outputs of the first samples


def _perturbation(
    attack: AttackSpec, link: Link, z: torch.Tensor, clean: torch.Tensor, eps: float, norm: str, gen: torch.Generator
) -> torch.Tensor:
    if attack.kind == "gaussian":
        return gaussian_jamming(z, eps, norm=norm, generator=gen)
    if attack.target is None:
        reference, targeted = clean, False
    else:
        reference = make_target(attack.target, clean, decode=link.receiver.decoder, latent_dim=z.shape[1],
                                generator=gen)
        targeted = True
    result = pgd(
        lambda d: link.deliver(z + d, generator=gen),
        z,
        eps=eps,
        reference=reference,
        targeted=targeted,
        distance=attack.distance,
        steps=attack.steps,
        alpha=attack.alpha_factor * eps / attack.steps,
        norm=norm,
        random_start=attack.random_start,
        generator=gen,
    )
    return result.delta


def sweep_attack(
    link: Link,
    images: torch.Tensor,
    attack: AttackSpec,
    eps_values: Sequence[float],
    *,
    norm: str,
    metric_names: Sequence[str],
    batch_size: int,
    seed: int,
    grid_samples: int = 6,
    precision: str = "fp32",
) -> SweepResult:
    """Run ``attack`` at every ε on ``images [N, C, H, W]`` through ``link``.

    ``precision="bf16"`` runs the attack's and the evaluation's passes through
    the link under bfloat16 autocast (latents, budgets and metrics stay fp32).
    It pays on GPUs and on CPUs with native bf16 (AVX512-BF16/AMX); elsewhere
    it is slower (``benchmarks/attack_throughput.py`` measures both).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}; got {precision!r}")
    device = next(link.parameters()).device
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    metrics = [get_metric(m) for m in metric_names]
    n_eps = len(eps_values)
    sums = np.zeros((n_eps, len(metrics)))
    sums_clean = np.zeros((n_eps, len(metrics)))
    psr_sum = np.zeros(n_eps)
    grid: list[list[torch.Tensor]] = [[] for _ in eps_values]
    link = inference_copy(link)
    for chunk_index, x in enumerate(images.split(batch_size)):
        x = x.to(device)
        eval_seed = derive_seed(seed, "eval", chunk_index)
        with torch.no_grad():
            z = _check_finite(link.transmitter(x), "latents", 0.0)
            with autocast:
                # The noiseless link output: at δ = 0 an untargeted attack's loss is then exactly
                # zero on an ideal link, and its first step deterministic (see adversary.pgd).
                clean_ideal = _check_finite(link.receiver(link.mapper.to_symbols(z)).float(), "outputs", 0.0)
                clean_gen = torch.Generator(device).manual_seed(eval_seed)
                clean_link = _check_finite(link.deliver(z, generator=clean_gen).float(), "outputs", 0.0)
        for i, eps in enumerate(eps_values):
            if eps == 0:
                delta = torch.zeros_like(z)
            else:
                gen = torch.Generator(device).manual_seed(derive_seed(seed, attack.name, chunk_index, i))
                with autocast:
                    delta = _perturbation(attack, link, z, clean_ideal, float(eps), norm, gen)
            with torch.no_grad():
                attacked = _check_finite(z + delta, "attacked latents", eps)
                eval_gen = torch.Generator(device).manual_seed(eval_seed)
                with autocast:
                    out = link.deliver(attacked, generator=eval_gen)
                out = _check_finite(out.float(), "outputs", eps)
                for j, m in enumerate(metrics):
                    sums[i, j] += m.fn(out, x).sum().item()
                    sums_clean[i, j] += m.fn(out, clean_link).sum().item()
                psr_sum[i] += (delta.pow(2).sum(1) / z.pow(2).sum(1).clamp_min(1e-12)).sum().item()
            have = sum(t.shape[0] for t in grid[i])
            if have < grid_samples:
                grid[i].append(out[: grid_samples - have].cpu())
    n = images.shape[0]
    names = [m.name for m in metrics]
    return SweepResult(
        eps=[float(e) for e in eps_values],
        metrics=[dict(zip(names, (sums[i] / n).tolist(), strict=True)) for i in range(n_eps)],
        metrics_vs_clean=[dict(zip(names, (sums_clean[i] / n).tolist(), strict=True)) for i in range(n_eps)],
        psr_db=[10 * math.log10(p / n) if p > 0 else None for p in psr_sum],
        grid=torch.stack([torch.cat(g) for g in grid]).numpy(),
    )

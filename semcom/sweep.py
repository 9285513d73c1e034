"""The attack sweep engine: one link, one attack, every budget ε.

For each chunk of test images the clean latents and reconstructions are
computed once; each ε > 0 then runs the attack (no attack work at ε = 0) and
the attacked link is evaluated over *evaluation* channel draws that are the
same for every attack and ε (paired comparison), seeded apart from the draws
the attacker optimised over.

Besides the metrics, the sweep keeps what the paper's latent figures need:
the dimension-wise mean absolute latent difference ``mean_b |δ_bj|`` per ε
(paper Eq. 7; the adversarial latent is ``z + δ``), and the clean and
adversarial latents of the first ``latent_samples`` images at the largest ε
(for a t-SNE).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from adversary import gaussian_jamming, make_target, pgd
from semcom import perceptual as _perceptual  # noqa: F401  (registers the "lpips" PGD distance)
from semcom.link import Link, frozen
from semcom.metrics import get_metric

__all__ = ["AttackSpec", "SweepResult", "sweep_attack", "derive_seed"]


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed derived deterministically from ints and strings."""
    ints = [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return int(np.random.SeedSequence(ints).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


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
    latent_abs_diff: list[list[float]] = field(default_factory=list)  # [len(eps)][k]: Eq. 7 per ε
    latents: np.ndarray | None = field(default=None, repr=False)  # [2, L, k]: clean, adv. at max ε


def _perturbation(
    attack: AttackSpec, link: Link, z: torch.Tensor, clean: torch.Tensor, eps: float, norm: str, gen: torch.Generator
) -> torch.Tensor:
    if attack.kind == "gaussian":
        return gaussian_jamming(z, eps, norm=norm, generator=gen)
    if attack.target is None:
        reference, targeted = clean, False
    else:
        reference = make_target(attack.target, clean, decode=link.receiver.decoder, latent_dim=z.shape[1], generator=gen)
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
    latent_samples: int = 300,
) -> SweepResult:
    """Run ``attack`` at every ε on ``images [N, C, H, W]`` through ``link``."""
    device = next(link.parameters()).device
    metrics = [get_metric(m) for m in metric_names]
    n_eps = len(eps_values)
    sums = np.zeros((n_eps, len(metrics)))
    sums_clean = np.zeros((n_eps, len(metrics)))
    psr_sum = np.zeros(n_eps)
    abs_delta_sum = [torch.zeros(()) for _ in eps_values]  # each becomes [k]
    clean_z: list[torch.Tensor] = []
    adv_z: list[torch.Tensor] = []  # z + δ at the largest ε
    grid: list[list[torch.Tensor]] = [[] for _ in eps_values]
    with frozen(link):
        for chunk_index, x in enumerate(images.split(batch_size)):
            x = x.to(device)
            eval_seed = derive_seed(seed, "eval", chunk_index)
            with torch.no_grad():
                z = link.transmitter(x)
                clean_ideal = link.receiver.decoder(z)
                clean_link = link.deliver(z, generator=torch.Generator(device).manual_seed(eval_seed))
            for i, eps in enumerate(eps_values):
                if eps == 0:
                    delta = torch.zeros_like(z)
                else:
                    gen = torch.Generator(device).manual_seed(derive_seed(seed, attack.name, chunk_index, i))
                    delta = _perturbation(attack, link, z, clean_ideal, float(eps), norm, gen)
                with torch.no_grad():
                    out = link.deliver(z + delta, generator=torch.Generator(device).manual_seed(eval_seed))
                    for j, m in enumerate(metrics):
                        sums[i, j] += m.fn(out, x).sum().item()
                        sums_clean[i, j] += m.fn(out, clean_link).sum().item()
                    psr_sum[i] += (delta.pow(2).sum(1) / z.pow(2).sum(1).clamp_min(1e-12)).sum().item()
                    abs_delta_sum[i] = abs_delta_sum[i] + delta.abs().sum(0).cpu()  # [k]
                    if i == n_eps - 1:
                        clean_z.append(z.cpu())
                        adv_z.append((z + delta).cpu())
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
        latent_abs_diff=[(a / n).tolist() for a in abs_delta_sum],
        latents=torch.stack([torch.cat(clean_z), torch.cat(adv_z)])[:, :latent_samples].numpy(),
    )

"""A certificate for the smoothed receiver: a bound that holds for EVERY ``‖δ‖₂ ≤ ε``.

The smoothed decoder (:class:`semcom.defenses.smoothing.SmoothedDecoder`) is
``ĝ(r) = E_n G(r + σn)``, ``n ~ N(0, I)``, per pixel ``p`` a value in [0, 1]
(the decoder ends in a sigmoid; other decoders are clamped to [0, 1] here).
For any function into [0, 1], ``Φ⁻¹(ĝ_p)`` is ``1/σ``-Lipschitz in ``r``
(Salman et al., NeurIPS 2019, Lemma 2), so for every ``‖δ‖₂ ≤ ε``

    ``Φ(Φ⁻¹(ĝ_p(r)) − ε/σ) ≤ ĝ_p(r + δ) ≤ Φ(Φ⁻¹(ĝ_p(r)) + ε/σ)``.

``ĝ_p(r)`` is estimated from ``n`` noise draws with a confidence interval
``[l_p, u_p]`` per pixel at level ``α/P`` (two-sided, ``P`` pixels, union bound:
all of an image's intervals hold at once with probability ≥ 1 − α):

* ``clopper-pearson`` (default): each draw's value ``v ∈ [0, 1]`` is rounded to a
  Bernoulli ``1[u < v]``, ``u ~ U(0, 1)`` (same mean ``ĝ_p``), and the exact
  binomial interval of the count is taken (tight near 0 and 1, where most
  MNIST pixels are);
* ``hoeffding``: ``mean ± √(ln(4P/α) / (2n))`` (both sides at ``α/(2P)``).

Plugging ``l_p`` and ``u_p`` into the bound gives the certified interval
``[L_p, U_p]`` of ``ĝ_p(r + δ)``, and from it the certified worst case over the
ε-ball: ``MSE_cert(x) = mean_p max(|U_p − x_p|, |L_p − x_p|)²`` against the
input image (and ``PSNR_cert = 10·log10(1 / MSE_cert)``), and the output change
``mean_p max(U_p − l_p, u_p − L_p)²`` against the clean smoothed output. The
trivial bound is ``mean_p max(x_p, 1 − x_p)²`` (any output in [0, 1]).
docs/design.md §7, "Certificate", states what this covers: the receiver's input
(the ideal link's latent), the true smoothed output ``ĝ`` (not its ``M``-draw
estimate), each image at confidence ``1 − α``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import betaincinv

__all__ = ["Certificate", "certify", "confidence_interval", "certified_interval", "certificate_record",
           "certificate_table", "BOUNDS"]

BOUNDS = ("clopper-pearson", "hoeffding")


def confidence_interval(successes: torch.Tensor | None, mean: torch.Tensor, n: int, alpha: float,
                        bound: str = "clopper-pearson") -> tuple[torch.Tensor, torch.Tensor]:
    """Two-sided ``1 − alpha`` interval of a [0, 1]-valued mean from ``n`` draws, per element.

    ``clopper-pearson`` takes the Bernoulli ``successes`` (counts out of ``n``);
    ``hoeffding`` the sample ``mean``. Returns ``(lower, upper)`` shaped like the input.
    """
    if bound == "hoeffding":
        t = math.sqrt(math.log(2 / alpha) / (2 * n))
        return (mean - t).clamp(0, 1), (mean + t).clamp(0, 1)
    if bound != "clopper-pearson":
        raise ValueError(f"`bound` must be one of {BOUNDS}; got {bound!r}")
    k = successes.double().cpu().numpy()
    lower = np.where(k > 0, betaincinv(np.maximum(k, 1e-300), n - k + 1, alpha / 2), 0.0)
    upper = np.where(k < n, betaincinv(k + 1, np.maximum(n - k, 1e-300), 1 - alpha / 2), 1.0)
    as_t = lambda a: torch.from_numpy(a).to(mean.device, mean.dtype)  # noqa: E731
    return as_t(lower), as_t(upper)


def certified_interval(lower: torch.Tensor, upper: torch.Tensor, eps: float,
                       sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``[Φ(Φ⁻¹(l) − ε/σ), Φ(Φ⁻¹(u) + ε/σ)]``: where ``ĝ(r + δ)`` lies for every ``‖δ‖₂ ≤ ε``."""
    shift = eps / sigma
    lo = torch.special.ndtr(torch.special.ndtri(lower.double()) - shift)
    hi = torch.special.ndtr(torch.special.ndtri(upper.double()) + shift)
    return lo.to(lower.dtype), hi.to(upper.dtype)


@dataclass(frozen=True)
class Certificate:
    """Per-image Monte-Carlo confidence intervals of the smoothed output at the clean latents.

    ``lower``/``upper`` ``[B, C, H, W]`` hold ``ĝ(r)`` per pixel, all of an image at
    once with probability ≥ ``1 − alpha``; ``mean`` is the ``n``-draw estimate.
    """

    lower: torch.Tensor
    upper: torch.Tensor
    mean: torch.Tensor
    sigma: float
    n: int
    alpha: float
    bound: str

    def interval(self, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The certified interval ``[L, U]`` of ``ĝ(r + δ)`` for every ``‖δ‖₂ ≤ eps``."""
        return certified_interval(self.lower, self.upper, eps, self.sigma)

    def worst_mse(self, eps: float, x: torch.Tensor) -> torch.Tensor:
        """Certified worst-case MSE ``[B]`` against ``x`` over the ε-ball."""
        lo, hi = self.interval(eps)
        return torch.maximum((hi - x).abs(), (x - lo).abs()).pow(2).flatten(1).mean(1)

    def worst_change(self, eps: float) -> torch.Tensor:
        """Certified worst-case MSE ``[B]`` between ``ĝ(r + δ)`` and ``ĝ(r)`` over the ε-ball."""
        lo, hi = self.interval(eps)
        return torch.maximum(hi - self.lower, self.upper - lo).pow(2).flatten(1).mean(1)


def trivial_mse(x: torch.Tensor) -> torch.Tensor:
    """The bound every [0, 1]-valued output meets: ``mean_p max(x_p, 1 − x_p)²`` ``[B]``."""
    return torch.maximum(x, 1 - x).pow(2).flatten(1).mean(1)


@torch.no_grad()
def certify(smoothed, latents: torch.Tensor, *, n: int = 1000, alpha: float = 0.05,
            bound: str = "clopper-pearson", generator: torch.Generator, chunk: int = 100) -> Certificate:
    """Confidence intervals of ``ĝ`` at ``latents [B, k]`` from ``n`` fresh noise draws.

    ``smoothed`` is a :class:`~semcom.defenses.smoothing.SmoothedDecoder` (its ``σ``
    and plain decoder are used, not its ``M``); ``generator`` draws the noise and
    the Bernoulli rounding. Each image's ``P`` intervals hold jointly with
    probability ≥ ``1 − alpha`` (each at ``alpha / P``).
    """
    if bound not in BOUNDS:
        raise ValueError(f"`bound` must be one of {BOUNDS}; got {bound!r}")
    if not 0 < alpha < 1 or n < 1:
        raise ValueError(f"need 0 < alpha < 1 and n ≥ 1; got alpha={alpha}, n={n}")
    total = successes = None
    done = 0
    while done < n:
        m = min(chunk, n - done)
        v = smoothed.noisy(latents, m, generator).clamp(0, 1)  # [m, B, C, H, W]
        u = torch.rand(v.shape, generator=generator, device=v.device, dtype=v.dtype)
        hits = (u < v).sum(0, dtype=torch.int64)
        total = v.sum(0, dtype=torch.float64) if total is None else total + v.sum(0, dtype=torch.float64)
        successes = hits if successes is None else successes + hits
        done += m
    mean = (total / n).to(latents.dtype)
    pixels = mean[0].numel()
    lower, upper = confidence_interval(successes, mean, n, alpha / pixels, bound)
    return Certificate(lower, upper, mean, smoothed.sigma, n, alpha, bound)


def certificate_record(smoothed, latents: torch.Tensor, images: torch.Tensor, eps: Sequence[float],
                       empirical: Sequence[dict[str, float]] | None = None, *, n: int = 1000,
                       alpha: float = 0.05, bound: str = "clopper-pearson", seed: int = 0) -> dict:
    """The per-ε certified worst case beside the empirical (PGD + EOT) one: a results.json record.

    ``empirical`` are the sweep's metrics per ε (``mse``/``psnr`` against the input, of
    the ``M``-draw smoothed receiver under the attack). Means over the images.
    """
    gen = torch.Generator(latents.device).manual_seed(seed)
    cert = certify(smoothed, latents, n=n, alpha=alpha, bound=bound, generator=gen)
    trivial = trivial_mse(images)
    rows = []
    for i, e in enumerate(eps):
        mse = cert.worst_mse(float(e), images)
        row = {"eps": float(e), "certified_mse": mse.mean().item(),
               "certified_psnr": (-10 * torch.log10(mse.clamp_min(1e-10))).mean().item(),
               "certified_change_mse": cert.worst_change(float(e)).mean().item(),
               "trivial_mse": trivial.mean().item()}
        if empirical is not None:
            row |= {f"empirical_{k}": empirical[i][k] for k in ("mse", "psnr") if k in empirical[i]}
        rows.append(row)
    return {"sigma": cert.sigma, "n": n, "alpha": alpha, "bound": bound, "images": int(images.shape[0]),
            "per_eps": rows}


def certificate_table(record: dict) -> str:
    """Markdown table of a :func:`certificate_record`: certified vs empirical per ε."""
    head = (f"Certified worst case over every ‖δ‖₂ ≤ ε (σ = {record['sigma']:g}, n = {record['n']} draws, "
            f"{record['bound']}, each image at confidence {1 - record['alpha']:.2f}) beside the empirical "
            "PGD + EOT damage; means over images.\n\n"
            "| ε | certified MSE | empirical MSE | certified PSNR [dB] | empirical PSNR [dB] | trivial MSE |\n"
            "|---|---|---|---|---|---|")
    cell = lambda r, k, f: f.format(r[k]) if k in r else "–"  # noqa: E731
    rows = [f"| {r['eps']:g} | {r['certified_mse']:.4f} | {cell(r, 'empirical_mse', '{:.4f}')} | "
            f"{r['certified_psnr']:.2f} | {cell(r, 'empirical_psnr', '{:.2f}')} | {r['trivial_mse']:.4f} |"
            for r in record["per_eps"]]
    return "\n".join([head, *rows])


def certify_draws(sc, defense, channel, attack) -> int:
    """Monte-Carlo draws of the certificate of one grid point (0: none).

    A certificate is made where it covers what the sweep measures: a smoothing
    defence with ``certify_draws`` set, on the ideal link (the receiver's input is
    the transmitted latent plus δ), under an untargeted in-transit L2 PGD on the ε axis.
    """
    draws = getattr(defense, "certify_draws", None) or 0
    adv = sc.adversary
    covered = (defense.kind == "smoothing" and channel.kind == "ideal" and attack.kind == "pgd"
               and getattr(attack, "target", None) is None and adv.budget_axis == "eps" and adv.norm == "l2"
               and adv.placement == "in_transit")
    return draws if covered else 0


@torch.no_grad()
def sweep_certificate(link, images: torch.Tensor, eps: Sequence[float], empirical: Sequence[dict[str, float]],
                      *, draws: int, seed: int, batch_size: int = 250) -> dict:
    """:func:`certificate_record` of ``link``'s smoothed receiver at its clean received latents."""
    device = next(link.parameters()).device
    smoothed = link.receiver.decoder
    parts = []
    for i, x in enumerate(images.split(batch_size)):
        x = x.to(device)
        latents = link.mapper.to_latent(link.mapper.to_symbols(link.transmitter(x)))
        parts.append((certificate_record(smoothed, latents, x, eps, n=draws, seed=seed + i), x.shape[0]))
    n_img = sum(b for _, b in parts)
    record = dict(parts[0][0])
    keys = [k for k in record["per_eps"][0] if k != "eps"]
    record["per_eps"] = [{"eps": row["eps"], **{k: sum(p["per_eps"][j][k] * b for p, b in parts) / n_img
                                                 for k in keys}}
                         for j, row in enumerate(record["per_eps"])]
    for j, row in enumerate(record["per_eps"]):
        row |= {f"empirical_{k}": empirical[j][k] for k in ("mse", "psnr") if k in empirical[j]}
    record["images"] = n_img
    return record

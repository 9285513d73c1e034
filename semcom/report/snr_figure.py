"""The figure DeepJSCC papers show: PSNR (and SSIM) of the unattacked link against the test SNR.

Bourtsoulatze et al. (2019) plot, for models trained at different SNRs, the
quality each reaches when tested over a range of SNRs: the "graceful
degradation" curves (a model trained at high SNR is best there and falls off
below; one trained through the channel at low SNR degrades gently). Here one
line per model (and receiver) over each channel that is tested at several
SNRs, from the clean-link metrics of the grid points (``results["clean"]``,
averaged over the attacks' sweeps, which see the same images and channel
draws). The report also states how each model was trained (power
normalisation, training channel): docs/design.md §7.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["snr_figures", "training_section", "SNR_METRICS"]

SNR_METRICS = ("psnr", "ssim")


def _curves(results: dict[str, Any]) -> dict[str, dict[str, dict[float, list[dict]]]]:
    """``{channel: {"model · defence": {snr: [metrics, …]}}}`` of the clean link."""
    out: dict[str, dict[str, dict[float, list[dict]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in results.get("clean", []):
        if row["snr_db"] is None:
            continue
        line = row["model"] if row["defense"] == "none" else f"{row['model']} · {row['defense']}"
        out[row["channel"]][line][float(row["snr_db"])].append(row["metrics"])
    return out


def snr_figures(out: Path, results: dict[str, Any]) -> list[str]:
    """One ``figures/snr_<channel>.png`` per channel tested at ≥ 2 SNRs: PSNR and SSIM vs SNR."""
    from semcom.report.figures import _pyplot, _save

    plt = _pyplot()
    names = []
    for channel, lines in _curves(results).items():
        if max(len(by_snr) for by_snr in lines.values()) < 2:
            continue
        metrics = [m for m in SNR_METRICS if all(m in ms[0] for by in lines.values() for ms in by.values())]
        if not metrics:
            continue
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.8), squeeze=False)
        for ax, metric in zip(axes[0], metrics, strict=True):
            for line, by_snr in lines.items():
                snrs = sorted(by_snr)
                values = [sum(m[metric] for m in by_snr[s]) / len(by_snr[s]) for s in snrs]
                ax.plot(snrs, values, marker="o", label=line)
            ax.set_xlabel("test SNR [dB]")
            ax.set_ylabel(f"{metric.upper()}{' [dB]' if metric == 'psnr' else ''} (clean link, vs input)")
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.suptitle(f"Quality against test SNR · {channel} (no attack)")
        fig.tight_layout()
        name = f"figures/snr_{channel}.png"
        _save(fig, out / name)  # atomic, and an OSError names the file (docs/design.md §7)
        names.append(name)
    return names


def training_section(results: dict[str, Any]) -> list[str]:
    """The report's table of how each model was trained, and the clean PSNR/SSIM against SNR."""
    models = results.get("trained_models") or []
    lines: list[str] = []
    if models:
        lines += ["## Models and their training", "",
                  "Power normalisation: `sigma_z` = the fixed √2·σ_z of the training latents; `per_image` = "
                  "every image's symbols scaled to average power 1 (DeepJSCC's constraint; docs/design.md §7).",
                  "", "| model | source | trained by semcom | power normalisation | training channel |",
                  "|---|---|---|---|---|"]
        for m in models:
            ch = m.get("train_channel")
            where = "none" if not ch else f"{ch['kind']} @ " + (
                f"{ch['snr_db']:g} dB" if ch.get("snr_db") is not None else
                f"U[{ch['snr_range'][0]:g}, {ch['snr_range'][1]:g}] dB per batch" if ch.get("snr_range") else "—")
            trained = f"yes, {m['epochs']} epochs" if m.get("trained") else "no (used as given)"
            lines.append(f"| {m['model']} | {m['source']} | {trained} | {m['power']} | {where} |")
        lines.append("")
    for channel, curves in _curves(results).items():
        snrs = sorted({s for by_snr in curves.values() for s in by_snr})
        if len(snrs) < 2:
            continue
        lines += [f"### Clean PSNR [dB] against test SNR · {channel}", "",
                  "| model | " + " | ".join(f"{s:g} dB" for s in snrs) + " |", "|---" * (len(snrs) + 1) + "|"]
        for line, by_snr in curves.items():
            cells = [f"{sum(m['psnr'] for m in by_snr[s]) / len(by_snr[s]):.2f}"
                     if s in by_snr and "psnr" in by_snr[s][0] else "—" for s in snrs]
            lines.append(f"| {line} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines

"""Figures of a run: DD-curves, image grids, the paper's latent figures (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_dd_curves", "plot_image_grid", "plot_latent_difference", "plot_latent_scatter"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    """Write a figure atomically (rendered in memory, then temp file and rename; an ``OSError``
    names ``path``)."""
    import io

    from semcom.fileio import atomic_write_bytes

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110)  # the callers lay out with tight_layout: no second draw
        atomic_write_bytes(path, buf.getvalue())
    finally:
        _pyplot().close(fig)  # also when the write fails: a long process must not pile up figures


def plot_dd_curves(
    rows: dict[str, dict[str, tuple[list[float], dict[str, list[float]]]]],
    metrics: Sequence[str],
    title: str,
    path: Path,
    *,
    xlabel: str = "budget ε (latent L2)",
    styles: dict[str, dict] | None = None,
) -> None:
    """DD-curves: one row of panels per entry of ``rows``, one panel per metric, one line per label.

    ``rows[row_title][label] = (eps, {metric: values})``.
    """
    plt = _pyplot()
    n_rows = len(rows)
    fig, axes = plt.subplots(n_rows, len(metrics), figsize=(4.2 * len(metrics), 3.2 * n_rows), squeeze=False)
    for r, (row_title, curves) in enumerate(rows.items()):
        for ax, metric in zip(axes[r], metrics, strict=True):
            for label, (eps, values) in curves.items():
                style = (styles or {}).get(label, {})
                ax.plot(eps, values[metric], marker="o", markersize=3, label=label, **style)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(metric.upper())
            ax.grid(alpha=0.3)
            if row_title:
                ax.set_title(row_title, fontsize=9)
        axes[r][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_image_grid(
    inputs: np.ndarray,
    rows: list[tuple[str, np.ndarray]],
    title: str,
    path: Path,
) -> None:
    """Inputs on top, then one labelled row of images ``[S, C, H, W]`` per entry of ``rows``.

    The images are tiled into one mosaic drawn in a single axes (one ``imshow``
    rather than one axes per image: many times faster to lay out and save).
    """
    plt = _pyplot()
    all_rows = [("input", inputs), *rows]
    n_rows, n_cols = len(all_rows), inputs.shape[0]
    _, _, h, w = inputs.shape
    gap = max(1, h // 14)
    mosaic = np.ones((n_rows * (h + gap) - gap, n_cols * (w + gap) - gap, 3))
    for r, (_, images) in enumerate(all_rows):
        for c in range(n_cols):
            img = np.clip(images[c], 0, 1).transpose(1, 2, 0)  # [H, W, C], grey replicated below
            mosaic[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = img
    fig, ax = plt.subplots(figsize=(1.1 * n_cols + 1.6, 1.1 * n_rows))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([r * (h + gap) + h / 2 for r in range(n_rows)], [label for label, _ in all_rows], fontsize=8)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_latent_difference(
    panels: dict[str, dict[float, Sequence[float]]],
    title: str,
    path: Path,
) -> None:
    """Bar plot of the dimension-wise mean absolute latent difference (paper Eq. 7, Fig. 7–8).

    ``panels[attack][eps] = [mean_b |z_adv,bj − z_bj| for each dimension j]``:
    one panel per attack (shared y axis), one group of bars per dimension,
    one bar per ε.
    """
    plt = _pyplot()
    n = len(panels)
    dims = max(len(v) for by_eps in panels.values() for v in by_eps.values())
    width_in = max(4.0, 0.32 * dims + 1.5)
    fig, axes = plt.subplots(1, n, figsize=(width_in * n, 3.2), squeeze=False, sharey=True)
    for ax, (attack, by_eps) in zip(axes[0], panels.items(), strict=True):
        width = 0.8 / max(1, len(by_eps))
        for i, (eps, values) in enumerate(by_eps.items()):
            x = np.arange(len(values)) + (i - (len(by_eps) - 1) / 2) * width
            ax.bar(x, values, width=width, label=f"ε = {eps:g}")
        ax.set_title(attack, fontsize=9)
        ax.set_xlabel("latent dimension j")
        ax.set_xticks(np.arange(dims)[:: max(1, dims // 16)])
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("mean |z_adv − z| (Eq. 7)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_latent_scatter(
    clean: np.ndarray,
    adversarial: dict[str, np.ndarray],
    title: str,
    path: Path,
) -> None:
    """2-D embeddings (t-SNE) of clean latents ``[L, 2]`` against each attack's adversarial ones.

    One panel per entry of ``adversarial[attack] = [L, 2]`` (the same
    embedding, so panels are comparable), the clean points in grey beneath.
    """
    plt = _pyplot()
    n = len(adversarial)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.6), squeeze=False, sharex=True, sharey=True)
    for ax, (attack, points) in zip(axes[0], adversarial.items(), strict=True):
        ax.scatter(clean[:, 0], clean[:, 1], s=6, c="0.6", alpha=0.6, label="clean")
        ax.scatter(points[:, 0], points[:, 1], s=6, c="tab:red", alpha=0.7, label="adversarial")
        ax.set_title(attack, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7, markerscale=2)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)

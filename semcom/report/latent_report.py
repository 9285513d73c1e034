"""The paper's latent figures for a run folder: Eq. 7 bar plots and t-SNE of the latents.

* Dimension-wise mean absolute latent difference (paper Eq. 7, Fig. 7–8):
  ``mean_b |z_adv,bj − z_bj|`` over all test images, per attack, at a few ε,
  read from ``results.json`` (``latent_difference``).
* t-SNE (van der Maaten & Hinton, 2008; paper Fig. 9) of the clean latents
  and every attack's adversarial latents at the largest ε, from
  ``samples/<point key>_latents.npy`` (``[2, L, k]``: clean, adversarial).
  One embedding per link holds the clean points and all attacks' points, so
  the panels share coordinates.

Both are redrawn from the run folder alone, like every other figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semcom.report.figures import plot_latent_difference, plot_latent_scatter
from semcom.report.gap import LINK_KEYS
from semcom.study.store import config_key

__all__ = ["latent_figures", "tsne_2d"]


def tsne_2d(latents: np.ndarray, *, seed: int) -> np.ndarray:
    """A seeded 2-D t-SNE of ``latents [n, k]`` (scikit-learn, PCA init); ``[n, 2]``.

    Perplexity is 30, or less for small ``n`` (it must stay below ``n``).
    """
    from sklearn.manifold import TSNE

    n = latents.shape[0]
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(latents.astype(np.float64))


def latent_figures(
    out: Path,
    results: dict[str, Any],
    *,
    pick_eps: Callable[[list[float]], list[int]],
    label: Callable[[tuple], str],
    slug: Callable[[tuple], str],
    tsne: bool,
) -> list[str]:
    """Draw the Eq. 7 bar plot and (with ``tsne``) the t-SNE of each link; returns the figure paths (relative).

    ``pick_eps(eps) -> indices`` chooses the ε shown in the bar plots;
    ``label`` and ``slug`` name a link ``(model, defense, channel, snr_db)``
    in titles and file names. Links without latent records are skipped.
    """
    by_link: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for rec in results.get("latent_difference", []):
        by_link[tuple(rec[k] for k in LINK_KEYS)][rec["attack"]] = rec
    seed = int(results["scenario"].get("seed", 0))
    names = []
    for link, by_attack in by_link.items():
        panels = {
            attack: {rec["eps"][i]: rec["mean_abs_delta"][i] for i in pick_eps(rec["eps"])}
            for attack, rec in by_attack.items()
        }
        bars = f"figures/latent_diff_{slug(link)}.png"
        title = f"Mean absolute latent difference (Eq. 7) · {label(link)}"
        plot_latent_difference(panels, title, out / bars)
        names.append(bars)
        name = _tsne_figure(out, link, by_attack, seed, label, slug) if tsne else None
        if name:
            names.append(name)
    return names


def _tsne_figure(out: Path, link: tuple, by_attack: dict[str, dict], seed: int,
                 label: Callable[[tuple], str], slug: Callable[[tuple], str]) -> str | None:
    clean, adversarial, eps_max = None, {}, None
    for attack, rec in by_attack.items():
        labels = dict(zip(LINK_KEYS, link, strict=True)) | {"attack": attack}
        path = out / "samples" / f"{config_key(labels)}_latents.npy"
        if not path.is_file():
            continue
        pair = np.load(path, allow_pickle=False)  # [2, L, k]
        clean = pair[0] if clean is None else clean
        adversarial[attack] = pair[1]
        eps_max = rec["eps"][-1]
    if clean is None or clean.shape[0] < 5:
        return None
    n = clean.shape[0]
    embedded = tsne_2d(np.concatenate([clean, *adversarial.values()]), seed=seed)
    parts = {attack: embedded[n * (i + 1): n * (i + 2)] for i, attack in enumerate(adversarial)}
    name = f"figures/tsne_{slug(link)}.png"
    title = f"t-SNE of clean vs adversarial latents (ε = {eps_max:g}, {n} images) · {label(link)}"
    plot_latent_scatter(embedded[:n], parts, title, out / name)
    return name

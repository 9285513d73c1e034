"""Which defences beat the control? jammed_mnist's model, every defence vs ``finetune``, ≥ 3 seeds.

The base model is jammed_mnist's (vae-kld, latent 10, 20 epochs, embedded MNIST,
250 test digits, scenario seed 0, from the store). Each defence fine-tunes its
receiver with the same data, epochs, optimizer steps and learning rate as the
control ``finetune`` (docs/design.md §3, "The control"), per hardening seed, on
the ideal link and AWGN at 20 dB; each receiver is then swept with untargeted L2
PGD (T = 10, distance mse) at ε = 0, 0.2, …, 2 (a smoothed receiver is attacked
through its M-draw average). Prints SSIM and PSNR (mean ± std over seeds) and the
paired gain over the control at every budget of the upper half of the sweep.

    SEMCOM_CACHE=… python benchmarks/hardening_defenses.py --seeds 0 1 2 --out /tmp/defenses.json

``--table FILE`` prints the tables of a finished ``--out`` file without computing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from semcom.attacks.base import make_attack
from semcom.attacks.threats import Engagement
from semcom.data import load_dataset
from semcom.defenses.hardening import get_or_harden, hardening_config
from semcom.link import build_link
from semcom.models.training import TrainConfig, get_or_train
from semcom.paths import cache_dir
from semcom.study.scenario import ChannelConfig, load_scenario
from semcom.study.store import ModelStore
from semcom.study.sweep import derive_seed, sweep_attack

COMMON = {"epochs": 2, "k": 1, "lr": 5e-4}
DEFENSES = {  # label: (kind, settings, eps, steps)
    "finetune": ("finetune", {}, 0.0, 5),
    "noise ε2": ("noise", {}, 2.0, 5),
    "consistency β1 ε1": ("consistency", {"beta": 1.0}, 1.0, 5),
    "pgd-matched ε2 T10": ("pgd-matched", {}, 2.0, 10),
    "smoothing σ0.5 M4": ("smoothing", {"sigma": 0.5, "draws": 4}, 0.0, 5),
    "smoothing σ0.5 M8": ("smoothing", {"sigma": 0.5, "draws": 8}, 0.0, 5),
    "adversarial-multi-eps ε2": ("adversarial-multi-eps", {}, 2.0, 5),
    "consistency β4 ε1": ("consistency", {"beta": 4.0}, 1.0, 5),
    "smoothing σ1 M8": ("smoothing", {"sigma": 1.0, "draws": 8}, 0.0, 5),
}
LINKS = {"ideal": (ChannelConfig(kind="ideal"), None), "awgn 20 dB": (ChannelConfig(kind="awgn", snr_db=[20]), 20.0)}
EPS = [0.0, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0]
"""ε = 0 and the upper half of jammed_mnist's sweep 0…2 (11 points); PGD at one ε does not depend on the others."""


def measure(seeds, only, links, out: Path) -> dict:
    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "jammed_mnist.yaml")
    spec = sc.data.spec(sc.seed)  # the run's data, as the runner loads it
    train, test = load_dataset(spec, split="train"), load_dataset(spec, split="test")
    store = ModelStore(cache_dir())
    data_key = spec.store_key()
    base = get_or_train(TrainConfig.from_entry(sc.models[0], sc.seed), train.images, data_key, store, progress=False)
    results = json.loads(out.read_text()) if out.exists() else {}
    attack = make_attack("pgd", label="pgd")
    plan = [(label, link_name, seed) for link_name in links for seed in seeds for label in DEFENSES
            if not only or label in only]
    for label, link_name, seed in plan:  # seeds before defences: an interrupted run has whole seeds
        kind, settings, eps, steps = DEFENSES[label]
        channel, snr = LINKS[link_name]
        key = f"{label}|{link_name}|{seed}"
        if key in results:
            continue
        cfg = hardening_config(kind, settings, eps=eps, steps=steps, seed=seed, **COMMON)
        link_key = {**channel.model_dump(mode="json"), "snr_db": snr}
        t0 = time.perf_counter()
        hardened = get_or_harden(base, lambda t, c=channel, s=snr: build_link(t, c, s), link_key,
                                 train.images, cfg, store, progress=False)
        t1 = time.perf_counter()
        link = build_link(hardened, channel, snr)
        res = sweep_attack(Engagement(link, attack, batch_size=250, seed=derive_seed(seed, link_name)),
                           test.images, EPS, metric_names=["ssim", "psnr"])
        t2 = time.perf_counter()
        results[key] = {"eps": EPS, "ssim": [m["ssim"] for m in res.metrics],
                        "psnr": [m["psnr"] for m in res.metrics],
                        "harden_s": t1 - t0, "sweep_s": t2 - t1}
        out.write_text(json.dumps(results, indent=1))
        print(f"{key}: SSIM {results[key]['ssim'][-1]:.3f} at ε=2, harden {t1 - t0:.0f} s, "
              f"sweep {t2 - t1:.0f} s", flush=True)
    return results


def table(results: dict) -> str:
    """Markdown: per link and metric, mean ± std over seeds at ε ≥ 1, and the paired gain over the control."""
    upper = [i for i, e in enumerate(EPS) if e >= 1.0]
    results = {k: _on_grid(v) for k, v in results.items()}
    lines = []
    for link_name in LINKS:
        for metric in ("ssim", "psnr"):
            lines += [f"\n**{link_name}, {metric.upper()}** (mean ± std over seeds; gain = paired "
                      "defence − finetune per seed)\n",
                      "| defence | seeds | clean | " + " | ".join(f"ε={EPS[i]:g}" for i in upper)
                      + " | gain at ε=1…2 | beats control? |", "|---" * (len(upper) + 5) + "|"]
            ctrl = {k.split("|")[2]: v for k, v in results.items() if k.startswith(f"finetune|{link_name}|")}
            for label in DEFENSES:
                runs = {k.split("|")[2]: v for k, v in results.items() if k.startswith(f"{label}|{link_name}|")}
                if not runs:
                    continue
                vals = np.array([r[metric] for r in runs.values()])
                cells = [f"{vals[:, i].mean():.3f} ± {vals[:, i].std(ddof=1) if len(vals) > 1 else 0:.3f}"
                         for i in [0, *upper]]
                paired = [s for s in runs if s in ctrl]
                verdict, gains = "—", ""
                if label != "finetune" and len(paired) > 1:
                    g = np.array([[runs[s][metric][i] - ctrl[s][metric][i] for i in upper] for s in paired])
                    mean, sd = g.mean(0), g.std(0, ddof=1)
                    gains = f"{mean.min():+.3f} … {mean.max():+.3f} (std ≤ {sd.max():.3f})"
                    if (mean > sd).all():
                        verdict = "**yes** (every budget, gain > spread)"
                    elif (mean > 0).all():
                        verdict = "higher, not significant"
                    else:
                        verdict = "no"
                lines.append(f"| {label} | {len(runs)} | " + " | ".join(cells) + f" | {gains} | {verdict} |")
    return "\n".join(lines)


def _on_grid(run: dict) -> dict:
    """A run's metrics at the budgets of :data:`EPS` (runs may have a finer grid)."""
    eps = [round(e, 6) for e in run.get("eps", [round(0.2 * i, 1) for i in range(11)])]
    return {**run, **{m: [run[m][eps.index(e)] for e in EPS] for m in ("ssim", "psnr")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", nargs="*", default=None, help="defence labels to run (default: all)")
    ap.add_argument("--links", nargs="+", default=list(LINKS), choices=list(LINKS))
    ap.add_argument("--out", type=Path, default=Path("hardening_defenses.json"))
    ap.add_argument("--table", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    results = json.loads(args.table.read_text()) if args.table else measure(args.seeds, args.only, args.links, args.out)
    print(table(results))


if __name__ == "__main__":
    main()

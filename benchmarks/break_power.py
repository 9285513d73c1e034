"""Break-power cost: the bisection against a sweep of the same resolution, in one process.

One vae-kld link (latent 10, 20 epochs: jammed_mnist's model, trained once into ``$SEMCOM_CACHE``),
N embedded-MNIST test digits,
untargeted L2 PGD (T = 10, MSE) and Gaussian jamming. The break power of every digit for SSIM ≤ 0.5
and PSNR ≤ 15 dB is bisected over [−40, 10] dB to within ``--tolerance`` dB
(:func:`semcom.attacks.break_power.bisect_break_power`); the reference is the sweep that resolves the same
range as finely: every digit at every PSR of a grid with the tolerance as its step
(:func:`semcom.study.sweep.sweep_attack` on a ``psr_db`` axis). Prints wall times, PGD sample-steps and
the ratio, and the bisection's median break PSRs.

    SEMCOM_CACHE=… python benchmarks/break_power.py [--images 100] [--tolerance 1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from channels import make_channel
from semcom.attacks.base import make_attack
from semcom.attacks.break_power import BreakSpec, bisect_break_power, summarise
from semcom.attacks.threats import Engagement
from semcom.data import DataSpec, load_dataset
from semcom.link import Link
from semcom.models.training import TrainConfig, get_or_train
from semcom.paths import cache_dir
from semcom.study.store import ModelStore
from semcom.study.sweep import sweep_attack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--tolerance", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(2)
    spec = DataSpec(test_size=args.images)
    train, test = load_dataset(spec, split="train"), load_dataset(spec, split="test")
    cfg = TrainConfig(variant="vae-kld", latent_dim=10, epochs=20, batch_size=64, lr=1e-3, seed=0)
    trained = get_or_train(cfg, train.images,
                           {"name": spec.name, "seed": spec.seed, "train_size": None}, ModelStore(cache_dir()),
                           progress=False)
    link = Link.from_trained(trained, make_channel("ideal"))
    images = test.images[: args.images]
    bp = BreakSpec((("ssim", 0.5), ("psnr", 15.0)), -40.0, 10.0, args.tolerance)
    grid = np.arange(bp.low_db, bp.high_db + args.tolerance / 2, args.tolerance).tolist()
    print(f"{args.images} digits, 2 thresholds, [{bp.low_db:g}, {bp.high_db:g}] dB, tolerance "
          f"{args.tolerance:g} dB: {bp.rounds}–{2 * bp.rounds} probe rounds (+ a top-of-range check) "
          f"vs a {len(grid)}-point sweep; torch threads {torch.get_num_threads()}")
    for attack in (make_attack("pgd", label="pgd-untargeted"), make_attack("gaussian", label="gaussian")):
        t_bisect, t_sweep = [], []
        for _ in range(args.repeats):  # alternate, so drift on a shared machine hits both
            start = time.perf_counter()
            engagement = Engagement(link, attack, batch_size=250, budget_axis="psr_db")
            found = bisect_break_power(engagement, images, bp)
            t_bisect.append(time.perf_counter() - start)
            start = time.perf_counter()
            sweep_attack(engagement, images, grid, metric_names=["ssim", "psnr"], latent_samples=1)
            t_sweep.append(time.perf_counter() - start)
        steps = (found.rounds + 1) * args.images * (attack.steps if attack.kind == "pgd" else 0)
        sweep_steps = len(grid) * args.images * (attack.steps if attack.kind == "pgd" else 0)
        medians = {r["metric"]: r["median_psr_db"] for r in summarise(found, bp, budget_axis="psr_db")}
        b, s = min(t_bisect), min(t_sweep)
        print(f"{attack.name}: bisection {b:.2f} s, {found.rounds} rounds (≤ {steps:,} PGD sample-steps), "
              f"sweep {s:.2f} s "
              f"({sweep_steps:,}); bisection / sweep = {b / s:.2f} (best of {args.repeats}); "
              f"median break PSR {medians}")


if __name__ == "__main__":
    main()

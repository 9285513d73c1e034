"""How an attack sweep's wall time grows with its size: test samples, ε points, steps T, latent size.

semcom's sweep engine (:func:`semcom.study.sweep.sweep_attack`, untargeted L2 PGD on
the MSE, SSIM measured) runs on the paper's 28×28 conv autoencoder over the
ideal link. One factor at a time is varied around a base point (250 samples,
11 ε from 0, T = 10, latent 10); each row prints the wall time, its ratio to
the base run measured in the same process, and the ratio a linear cost model
predicts. The model's weights are untrained (seeded): the cost of a PGD step
does not depend on them, and no training or store is involved.

The linear model counts PGD work only: samples × (ε points − 1) × (T + 1)
passes (no attack runs at ε = 0; T + 1 forwards and T backwards per ε), plus
the per-ε evaluation pass. Latent size changes the decoder's first layer only,
so its expected ratio is ~1.

    python benchmarks/scaling.py              # 2-core CPU default, ~2 min
    python benchmarks/scaling.py --device cuda
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from channels import make_channel
from semcom.attacks.base import make_attack
from semcom.attacks.threats import Engagement
from semcom.link import Link
from semcom.models import Autoencoder
from semcom.study.sweep import sweep_attack

BASE = {"samples": 250, "eps_points": 11, "steps": 10, "latent": 10}
AXES = {
    "samples": [125, 250, 500, 1000],
    "eps_points": [3, 6, 11, 21],
    "steps": [5, 10, 20, 40],
    "latent": [10, 30, 128],
}


def predicted_work(samples: int, eps_points: int, steps: int) -> int:
    """Decoder passes of a sweep: PGD's forwards and backwards at ε > 0, plus one evaluation per ε."""
    attacked = samples * (eps_points - 1)
    return attacked * (2 * steps + 1) + samples * eps_points


def timed_sweep(samples: int, eps_points: int, steps: int, latent: int, device: torch.device,
                batch_size: int) -> float:
    torch.manual_seed(0)
    model = Autoencoder("vae-kld", latent, (1, 28, 28)).to(device)
    link = Link(model, make_channel("ideal"), scale=1.0, snr_db=None).to(device)
    images = torch.rand(samples, 1, 28, 28, generator=torch.Generator().manual_seed(1)).to(device)
    eps = np.linspace(0, 2.0, eps_points).round(6).tolist()
    attack = make_attack("pgd", label="pgd-untargeted", steps=steps)
    start = time.perf_counter()
    sweep_attack(Engagement(link, attack, batch_size=batch_size), images, eps, metric_names=["ssim"], grid_samples=1)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=250, help="the engine's batch (scenario eval_batch_size)")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    timed_sweep(**BASE, device=device, batch_size=args.batch_size)  # warm-up: kernels, allocator
    base_time = timed_sweep(**BASE, device=device, batch_size=args.batch_size)
    base_work = predicted_work(BASE["samples"], BASE["eps_points"], BASE["steps"])
    print(f"base {BASE}: {base_time:.2f} s")
    print(f"{'factor':>10} {'value':>6} {'time s':>8} {'ratio':>7} {'linear':>7}")
    for axis, values in AXES.items():
        for value in values:
            point = BASE | {axis: value}
            t = base_time if point == BASE else timed_sweep(**point, device=device, batch_size=args.batch_size)
            work = predicted_work(point["samples"], point["eps_points"], point["steps"])
            print(f"{axis:>10} {value:6d} {t:8.2f} {t / base_time:7.2f} {work / base_work:7.2f}")


if __name__ == "__main__":
    main()

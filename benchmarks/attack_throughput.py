"""Attack-sweep throughput: semcom's sweep engine against a paper-style reference loop.

One trained decoder (vae-kld, latent 10, from the model store; trained on the
first run), the embedded MNIST test digits, an ε grid from 0. The
**reference** is written here the way a paper's script does it: batch 8, a
Python loop per ε, T = 10 L2 steps on the MSE to the clean reconstruction,
best iterate kept, fp32 (parameters frozen, so it computes no weight
gradients either). Then semcom's engine (:func:`semcom.study.sweep.sweep_attack`)
runs the same attack on the same digits and ε grid.

Printed: sample-steps per second (one sample, one PGD step: a forward and a
backward pass; ε = 0 costs nothing in either) for both and their ratio; the
agreement of the results (max |Δ| over ε of the mean SSIM against the input);
the FLOPs of one sample-step counted from the model; the fp32 matmul rate
measured in this process and the share of it the engine reaches; the engine
at several batch sizes; bf16 autocast against fp32 (rate and AADDC).

    python benchmarks/attack_throughput.py                  # 2-core CPU default
    python benchmarks/attack_throughput.py --device cuda    # on a GPU
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from torchmetrics.functional.image import structural_similarity_index_measure

from channels import make_channel
from semcom.attacks.base import make_attack
from semcom.attacks.threats import Engagement
from semcom.data import DataSpec, load_dataset
from semcom.link import Link
from semcom.metrics.quality import aaddc
from semcom.models.training import TrainConfig, get_or_train
from semcom.paths import cache_dir
from semcom.study.store import ModelStore
from semcom.study.sweep import sweep_attack

STEPS = 10
ATTACK = make_attack("pgd", label="pgd-untargeted", steps=STEPS)


def reference_sweep(decoder, z, x, eps_values, batch_size=8):
    """Paper-style loop: per ε, per batch of 8, plain L2 PGD; returns the mean SSIM per ε."""
    decoder.eval()
    for p in decoder.parameters():
        p.requires_grad_(False)
    ssim_per_eps = []
    for eps in eps_values:
        scores = []
        for i in range(0, len(z), batch_size):
            zb, xb = z[i : i + batch_size], x[i : i + batch_size]
            with torch.no_grad():
                clean = decoder(zb)
            best = torch.zeros_like(zb)
            if eps > 0:
                delta = torch.zeros_like(zb)
                best_loss = torch.full((len(zb),), -1.0, device=zb.device)
                for t in range(STEPS + 1):
                    delta.requires_grad_(True)
                    loss = ((decoder(zb + delta) - clean) ** 2).flatten(1).mean(1)
                    better = loss.detach() > best_loss
                    best = torch.where(better[:, None], delta.detach(), best)
                    best_loss = torch.where(better, loss.detach(), best_loss)
                    if t == STEPS:
                        break
                    loss.sum().backward()
                    g = delta.grad
                    g = torch.where((g == 0).all(1, keepdim=True), torch.ones_like(g), g)  # stationary start
                    with torch.no_grad():
                        delta = delta + 2.5 * eps / STEPS * g / g.norm(dim=1, keepdim=True)
                        delta = delta * (eps / delta.norm(dim=1, keepdim=True)).clamp(max=1.0)
            with torch.no_grad():
                out = decoder(zb + best)
            scores.append(structural_similarity_index_measure(out, xb, data_range=1.0, reduction="none"))
        ssim_per_eps.append(torch.cat(scores).mean().item())
    return ssim_per_eps


def engine_sweep(link, x, eps_values, batch_size, precision="fp32"):
    engagement = Engagement(link, ATTACK, batch_size=batch_size, precision=precision)
    result = sweep_attack(engagement, x, eps_values, metric_names=["ssim"], grid_samples=1)
    return [m["ssim"] for m in result.metrics]


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def flops_per_sample_step(decoder, latent_dim, device):
    """FLOPs of one forward and one backward (to δ only) of the decoder, per sample."""
    z = torch.zeros(1, latent_dim, device=device)
    delta = torch.zeros_like(z, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        (decoder(z + delta) ** 2).sum().backward()
    return counter.get_total_flops()


def matmul_rate(device, n=1024, reps=20):
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--eps-points", type=int, default=11)
    parser.add_argument("--eps-max", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=250, help="the engine's batch (scenario eval_batch_size)")
    parser.add_argument("--batch-sizes", default="64,128,256,512,1024", help="engine batch sizes to scan")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"cpu capability {torch.backends.cpu.get_cpu_capability()}, cores {os.cpu_count()}")

    data = DataSpec(test_size=args.samples)
    train, test = load_dataset(data, split="train"), load_dataset(data, split="test")
    trained = get_or_train(TrainConfig(epochs=5), train.images, {"name": data.name, "seed": 0}, ModelStore(cache_dir()),
                           progress=False)
    link = Link.from_trained(trained, make_channel("ideal")).to(device)
    decoder = trained.model.decoder.to(device)
    x = test.images.to(device)
    with torch.no_grad():
        z = link.transmitter(x)
    eps_values = np.linspace(0, args.eps_max, args.eps_points).round(6).tolist()
    sample_steps = len(x) * (len(eps_values) - 1) * STEPS

    ref, t_ref = timed(reference_sweep, decoder, z, x, eps_values)
    eng, t_eng = timed(engine_sweep, link, x, eps_values, args.batch_size)
    r_ref, r_eng = sample_steps / t_ref, sample_steps / t_eng
    flops = flops_per_sample_step(decoder, z.shape[1], device)
    rate = matmul_rate(device)
    print(f"{len(x)} digits × {len(eps_values) - 1} ε > 0 × T = {STEPS}: {sample_steps} sample-steps")
    print(f"reference (batch 8, loop per ε): {t_ref:7.2f} s  {r_ref:8.0f} sample-steps/s")
    print(f"semcom engine (batch {args.batch_size}):      {t_eng:7.2f} s  {r_eng:8.0f} sample-steps/s")
    print(f"speed-up: {r_eng / r_ref:.2f}×   agreement: max |Δ mean SSIM| over ε = "
          f"{max(abs(a - b) for a, b in zip(ref, eng, strict=True)):.2e}")
    print(f"FLOPs per sample-step {flops / 1e6:.2f} M; engine {r_eng * flops / 1e9:.1f} GFLOP/s = "
          f"{100 * r_eng * flops / rate:.0f}% of the fp32 matmul rate ({rate / 1e9:.1f} GFLOP/s)")

    for b in [int(s) for s in args.batch_sizes.split(",") if s]:
        _, t = timed(engine_sweep, link, x, eps_values, b)
        print(f"  engine batch {b:5d}: {sample_steps / t:8.0f} sample-steps/s")

    bf16, t_bf16 = timed(engine_sweep, link, x, eps_values, args.batch_size, precision="bf16")
    area = [aaddc(eps_values, curve, higher_is_better=True, baseline=0.0) for curve in (eng, bf16)]
    print(f"bf16 autocast: {sample_steps / t_bf16:8.0f} sample-steps/s = {t_ref / t_bf16:.2f}× the reference, "
          f"{t_eng / t_bf16:.2f}× fp32; SSIM-AADDC fp32 {area[0]:.4f} vs bf16 {area[1]:.4f} "
          f"(|Δ| = {abs(area[0] - area[1]):.4f})")


if __name__ == "__main__":
    main()

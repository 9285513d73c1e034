"""Training through the Sionna-backed channel vs training without one, in one process.

Trains the same model (same data, seed, epochs, batch size) three times:
without a channel (the reference), through AWGN at 10 dB and through flat
Rayleigh block fading at 10 dB (both Sionna-backed, docs/design.md §7), and
prints the wall time of each and its ratio to the reference. Runs alternate
(reference first) and are repeated ``--repeats`` times; the median counts.

    python benchmarks/train_channel_overhead.py                      # deepjscc, 1000 digits, 2 epochs
    python benchmarks/train_channel_overhead.py --variant vae-kld --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from semcom.data import DataSpec, load_dataset
from semcom.models.channel_training import TrainChannel
from semcom.models.training import TrainConfig, train_autoencoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="deepjscc")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    images = load_dataset(DataSpec(), split="train").images[: args.images]
    runs = {"none": None, "awgn @ 10 dB": TrainChannel("awgn", 10.0),
            "rayleigh @ 10 dB": TrainChannel("rayleigh", 10.0)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    train_autoencoder(TrainConfig(args.variant, epochs=1, batch_size=args.batch_size),
                      images[:64], progress=False)  # warm-up: imports, Sionna, kernels
    for _ in range(args.repeats):
        for name, channel in runs.items():
            cfg = TrainConfig(args.variant, epochs=args.epochs, batch_size=args.batch_size, train_channel=channel)
            start = time.perf_counter()
            train_autoencoder(cfg, images, progress=False)
            times[name].append(time.perf_counter() - start)
    ref = statistics.median(times["none"])
    print(f"{args.variant}: {args.images} images × {args.epochs} epochs, batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}, {args.repeats} repeats (median)")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:18s} {med:7.2f} s  ({', '.join(f'{t:.2f}' for t in ts)})  ×{med / ref:.2f} vs no channel")


if __name__ == "__main__":
    main()

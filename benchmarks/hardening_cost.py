"""Cost of each defence's fine-tuning and of certification, against plain fine-tuning, in one process.

A vae-kld receiver (latent 10, untrained weights: the cost does not depend on
them) on 1,000 embedded-MNIST training digits, ideal link, batch 64, one epoch
with ``k = 1`` and 5 PGD steps (``pgd-matched``: 10, as evaluated). Prints
images/s of fine-tuning per defence and its ratio to the control ``finetune``
(same loop and optimizer steps, δ = 0), then the certificate's images/s per
``n`` Monte-Carlo draws (:func:`semcom.defenses.certificate.certify`, Clopper–Pearson).

    python benchmarks/hardening_cost.py [--images 1000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from channels import make_channel
from semcom.data import DataSpec, load_dataset
from semcom.defenses.certificate import certify
from semcom.defenses.hardening import harden_receiver, hardening_config
from semcom.defenses.smoothing import SmoothedDecoder
from semcom.link import Link
from semcom.models import Autoencoder

DEFENSES = {  # label: (kind, settings, eps, steps)
    "finetune (control)": ("finetune", {}, 0.0, 5),
    "noise": ("noise", {}, 2.0, 5),
    "adversarial": ("adversarial", {}, 1.0, 5),
    "adversarial-multi-eps": ("adversarial-multi-eps", {}, 2.0, 5),
    "consistency β1": ("consistency", {"beta": 1.0}, 1.0, 5),
    "pgd-matched T10": ("pgd-matched", {}, 2.0, 10),
    "pgd-matched T10 R2": ("pgd-matched", {"restarts": 2}, 2.0, 10),
    "smoothing σ0.5": ("smoothing", {"sigma": 0.5}, 0.0, 5),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per defence (the best is kept)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    images = load_dataset(DataSpec(train_size=args.images), split="train").images[: args.images]
    torch.manual_seed(0)
    base = Autoencoder("vae-kld", 10, (1, 28, 28))
    rates = {}
    print(f"{'defence':24s} {'images/s':>9s} {'vs control':>10s}")
    for label, (kind, settings, eps, steps) in DEFENSES.items():
        best = float("inf")
        for _ in range(args.repeats):
            model = copy.deepcopy(base)
            link = Link(model, make_channel("ideal"), scale=1.0, snr_db=None)
            cfg = hardening_config(kind, settings, eps=eps, steps=steps, k=1, epochs=1, batch_size=64)
            t0 = time.perf_counter()
            harden_receiver(link, images, cfg, progress=False)
            best = min(best, time.perf_counter() - t0)
        rates[label] = args.images / best
        print(f"{label:24s} {rates[label]:9.0f} {rates['finetune (control)'] / rates[label]:9.2f}× slower",
              flush=True)
    smoothed = SmoothedDecoder(base.decoder.eval(), sigma=0.5, draws=8)
    with torch.no_grad():
        z = base.encoder(images[:100])[:, :10]
    print(f"\n{'certificate draws n':24s} {'images/s':>9s} {'decodes/s':>10s}")
    for n in (100, 1000):
        t0 = time.perf_counter()
        certify(smoothed, z, n=n, generator=torch.Generator().manual_seed(0))
        dt = time.perf_counter() - t0
        print(f"{n:<24d} {100 / dt:9.1f} {100 * n / dt:10.0f}", flush=True)


if __name__ == "__main__":
    main()

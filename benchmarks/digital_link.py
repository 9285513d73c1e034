"""Images/s through the digital link against the same Sionna blocks alone, in one process.

The digital link (:class:`channels.DigitalChannel`, docs/design.md §7) at the
settings of ``scenarios/learned_vs_digital.yaml`` (latent 10, 2 bits per value,
5G LDPC 20 → 30 bits, 64-QAM, 10 BP iterations, AWGN at 20 dB): latent values →
quantiser → bits → LDPC5GEncoder → Mapper → AWGN → Demapper → LDPC5GDecoder →
de-quantiser. The **reference** is the same Sionna blocks called directly on
random bits (BinarySource-style ``torch.randint`` → LDPC5GEncoder → Mapper →
AWGN → Demapper → LDPC5GDecoder), the same code, batch and SNR. Also timed: the
soft path forward + backward (what one white-box PGD step costs per image,
without the image decoder). Repetitions alternate between the runs, so load on
a shared machine hits both; the figure is the median over repetitions.

Usage: ``python benchmarks/digital_link.py [--batch 250] [--reps 5] [--threads 2]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def _reference(k: int, n: int, m: int, iters: int):
    from sionna.phy.channel import AWGN
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.mapping import Demapper, Mapper

    settings = {"precision": "single", "device": "cpu"}
    enc = LDPC5GEncoder(k, n, num_bits_per_symbol=m, **settings)
    dec = LDPC5GDecoder(enc, hard_out=True, num_iter=iters, **settings)
    mapper, demapper, awgn = Mapper("qam", m, **settings), Demapper("app", "qam", m, **settings), AWGN(**settings)

    def run(batch: int, no: float) -> torch.Tensor:
        bits = torch.randint(0, 2, (batch, k)).float()
        return dec(demapper(awgn(mapper(enc(bits)), no), no))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import channels

    channel = channels.make_channel("digital", bits=2, code_rate=0.6667, qam_order=64, bp_iterations=10)
    k, n = channel.frame(10)
    snr = 20.0
    no = channel.noise_variance(snr)
    reference = _reference(k, n, channel.bits_per_symbol, channel.bp_iterations)
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(args.batch, 10, generator=gen) / 2**0.5

    def ours() -> None:
        with torch.no_grad():
            x = channel.encode(u)
            y, h = channel(x, snr_db=snr, generator=gen, return_h=True)
            channel.detect(y, h, no=no, num_values=10)

    def soft() -> None:
        x = channel.encode(u)
        delta = torch.zeros_like(x, requires_grad=True)
        y, h = channel(x + delta, snr_db=snr, generator=gen, return_h=True)
        channel.detect(y, h, no=no, num_values=10, soft=True).square().sum().backward()

    def ref() -> None:
        with torch.no_grad():
            reference(args.batch, no)

    runs = {"Sionna blocks alone (reference)": ref, "digital link, hard decisions": ours,
            "digital link, soft path fwd + bwd": soft}
    for fn in runs.values():  # warm-up: frames built, kernels loaded
        fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.reps):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    base = args.batch / statistics.median(times["Sionna blocks alone (reference)"])
    print(f"code (k, n) = ({k}, {n}), 64-QAM, {channel.bp_iterations} BP iterations, batch {args.batch}, "
          f"{args.threads} threads, {args.reps} alternating repetitions (median)")
    for name, t in times.items():
        rate = args.batch / statistics.median(t)
        print(f"{name:<36} {rate:10.0f} images/s   {rate / base:5.2f}× reference")


if __name__ == "__main__":
    main()

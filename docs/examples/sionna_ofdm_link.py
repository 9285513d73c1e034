"""semcom's transmitter, receiver and adversary in your own Sionna 2.x OFDM link.

The link below is built from Sionna blocks only — a resource grid, the 3GPP
TDL channel model over OFDM (``OFDMChannel``), AWGN, perfect-CSI LMMSE
equalisation per subcarrier (``LMMSEEqualizer``) — as a Sionna user would
write it. semcom supplies the learned transmitter and receiver (a VAE trained
on MNIST digits) and measures what an in-transit attacker can do to it
compared with Gaussian jamming of the same energy; then it hardens the
receiver on this very link. See ``docs/sionna.md``.

Run from the repository root (about a minute on a laptop CPU)::

    python docs/examples/sionna_ofdm_link.py
    python docs/examples/sionna_ofdm_link.py --epochs 3 --test-samples 64   # quicker
"""

from __future__ import annotations

import argparse
import copy
import math

import numpy as np
import sionna.phy
import torch
from sionna.phy.channel import OFDMChannel
from sionna.phy.channel.tr38901 import TDL
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import (
    LMMSEEqualizer,
    RemoveNulledSubcarriers,
    ResourceGrid,
    ResourceGridMapper,
)

import adversary
import channels
import semcom


class OFDMLink(torch.nn.Module):
    """Your link: complex symbols ``[B, n]`` → equalised symbols ``[B, n]``.

    One OFDM resource grid per sample (``ceil(n / fft_size)`` OFDM symbols,
    no pilots since the receiver knows the channel), a 3GPP TDL channel drawn
    per sample, AWGN at ``snr_db`` (``Es/N0``), and Sionna's LMMSE equaliser
    fed with the true channel. All draws come from Sionna's global RNG
    (``sionna.phy.config.seed``).
    """

    def __init__(self, num_symbols: int, *, snr_db: float, model: str = "C",
                 delay_spread: float = 300e-9, fft_size: int = 12) -> None:
        super().__init__()
        self.num_symbols = num_symbols
        grid = ResourceGrid(num_ofdm_symbols=math.ceil(num_symbols / fft_size), fft_size=fft_size,
                            subcarrier_spacing=30e3)
        self.mapper = ResourceGridMapper(grid)
        self.channel = OFDMChannel(TDL(model, delay_spread, carrier_frequency=3.5e9), grid,
                                   return_channel=True)
        self.remove_nulled = RemoveNulledSubcarriers(grid)
        self.equalizer = LMMSEEqualizer(grid, StreamManagement(np.ones([1, 1]), 1))
        self.no = 10.0 ** (-snr_db / 10.0)
        self.num_data = grid.num_data_symbols

    def forward(self, symbols: torch.Tensor) -> torch.Tensor:
        padded = torch.nn.functional.pad(symbols, (0, self.num_data - self.num_symbols))
        x = self.mapper(padded[:, None, None, :])  # [B, tx, stream, OFDM symbols, subcarriers]
        y, h = self.channel(x, self.no)
        x_hat, _ = self.equalizer(y, self.remove_nulled(h), 0.0, self.no)  # perfect CSI
        return x_hat[:, 0, 0, : self.num_symbols]


class AsChannel(channels.Channel):
    """Your link as a semcom channel, so that ``semcom.Link`` and hardening can drive it.

    ``receive`` (what ``Link`` calls) runs the whole link, equalisation
    included; randomness comes from Sionna's RNG, not from ``generator``.
    """

    is_random = True

    def __init__(self, link: OFDMLink) -> None:
        super().__init__()
        self.link = link

    def receive(self, x: torch.Tensor, *, snr_db: float | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        return self.link(x)


def evaluate(deliver, z: torch.Tensor, delta: torch.Tensor, x: torch.Tensor, seed: int) -> float:
    """Mean SSIM of the received images against the inputs, on channel draws fixed by ``seed``."""
    sionna.phy.config.seed = seed  # the same draws for every attack and budget: a paired comparison
    with torch.no_grad():
        return semcom.get_metric("ssim").fn(deliver(z + delta), x).mean().item()


def attack_vs_jamming(deliver, z: torch.Tensor, x: torch.Tensor, eps: list[float], *,
                      steps: int, eot: int) -> dict[str, list[float]]:
    """SSIM under untargeted latent PGD and under Gaussian jamming, per budget ε."""
    sionna.phy.config.seed = 1
    with torch.no_grad():
        clean = deliver(z)
    out: dict[str, list[float]] = {"pgd": [], "gaussian": []}
    gen = torch.Generator(z.device).manual_seed(2)
    for e in eps:
        # the attacker does not know the channel draw: its loss is averaged over `eot` draws
        pgd = adversary.pgd(lambda d: deliver(z + d), z, eps=e, reference=clean, steps=steps,
                            eot=eot).delta
        jam = adversary.gaussian_jamming(z, e, generator=gen)
        out["pgd"].append(evaluate(deliver, z, pgd, x, seed=7))
        out["gaussian"].append(evaluate(deliver, z, jam, x, seed=7))
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="VAE training epochs")
    parser.add_argument("--train-samples", type=int, default=4000)
    parser.add_argument("--test-samples", type=int, default=200)
    parser.add_argument("--snr-db", type=float, default=15.0)
    parser.add_argument("--eps", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    parser.add_argument("--steps", type=int, default=10, help="PGD steps")
    parser.add_argument("--eot", type=int, default=4, help="channel draws per PGD step")
    parser.add_argument("--harden-epochs", type=int, default=1)
    parser.add_argument("--harden-samples", type=int, default=None,
                        help="training images for hardening (default: all)")
    parser.add_argument("--device", default="cpu", help="torch device of the model and of Sionna")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    sionna.phy.config.device = args.device  # Sionna's blocks are built on its configured device

    # semcom's side: a VAE (from the model store when trained before) and its transceiver
    spec = semcom.DataSpec(train_size=args.train_samples, test_size=args.test_samples)
    train = semcom.load_dataset(spec, split="train").images
    x = semcom.load_dataset(spec, split="test").images.to(args.device)
    config = semcom.TrainConfig(variant="vae-kld", latent_dim=16, epochs=args.epochs)
    data_key = {"name": spec.name, "seed": spec.seed, "train_size": spec.train_size}
    model = semcom.get_or_train(config, train, data_key, semcom.ModelStore(semcom.cache_dir()),
                                device=args.device)
    tx, rx = semcom.transceiver(model)

    # your side: a Sionna OFDM link for the transmitted symbols (k real → k/2 complex)
    ofdm = OFDMLink(tx.mapper.num_symbols, snr_db=args.snr_db)

    def deliver(latent: torch.Tensor) -> torch.Tensor:
        """Everything after the adversary: map to symbols, your link, semcom's receiver."""
        return rx(ofdm(tx.mapper.to_symbols(latent)))

    with torch.no_grad():
        z = tx(x)  # transmitted latents [N, 16]
    ssim = attack_vs_jamming(deliver, z, x, args.eps, steps=args.steps, eot=args.eot)
    print(f"TDL-C over OFDM at {args.snr_db:g} dB, {len(x)} test digits; SSIM vs. input")
    print("  ε      PGD    jamming")
    for e, a, j in zip(args.eps, ssim["pgd"], ssim["gaussian"], strict=True):
        print(f"  {e:<5g}  {a:.3f}  {j:.3f}")

    # hardening the receiver on your link: wrap it as a semcom channel
    hardened = copy.deepcopy(model)
    link = semcom.Link.from_trained(hardened, AsChannel(ofdm), snr_db=args.snr_db)
    eps_train = max(args.eps)
    if args.harden_epochs:
        sionna.phy.config.seed = 3
        cfg = semcom.HardeningConfig(kind="adversarial", eps=eps_train, steps=3,
                                     epochs=args.harden_epochs)
        semcom.harden_receiver(link, train[: args.harden_samples], cfg)
    _, rx_hard = semcom.transceiver(hardened)

    def deliver_hardened(latent: torch.Tensor) -> torch.Tensor:
        return rx_hard(ofdm(tx.mapper.to_symbols(latent)))

    after = attack_vs_jamming(deliver_hardened, z, x, [eps_train], steps=args.steps, eot=args.eot)
    print(f"hardened receiver at ε = {eps_train:g}: PGD {after['pgd'][0]:.3f} "
          f"(was {ssim['pgd'][-1]:.3f}), jamming {after['gaussian'][0]:.3f}")
    return {"eps": args.eps, "ssim": ssim, "hardened": after}


if __name__ == "__main__":
    main()

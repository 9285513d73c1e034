"""Attacks: threats on the latent and the break-power search."""

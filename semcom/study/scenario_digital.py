"""Scenario checks of the digital link that need more than one channel entry (docs/design.md §7).

Whether Sionna's 5G LDPC code can carry a latent depends on the latent size
of the model as well as the channel entry's ``bits``, ``code_rate`` and
``qam_order``, so it is checked once the whole scenario is read.
"""

from __future__ import annotations

from channels import make_channel

__all__ = ["KeyedError", "check_digital_frames"]


class KeyedError(ValueError):
    """A scenario error about one key: ``key_path`` (e.g. ``channels[1].code_rate``) and the reason."""

    def __init__(self, key_path: str, reason: str) -> None:
        super().__init__(reason)
        self.key_path = key_path


def check_digital_frames(sc) -> None:
    """Raise :class:`KeyedError` (``channels[i].<key>``) for the first digital entry 5G LDPC cannot build,
    or (``defenses[j].kind``) for a hardened receiver on a digital link.

    Plug-in models' latent sizes are known only once loaded; their links are
    checked when built (:class:`semcom.digital_link.DigitalLink`).
    """
    dims = sorted({m.latent_dim for m in sc.models if m.source == "builtin"})
    for i, ch in enumerate(sc.channels):
        if ch.kind != "digital":
            continue
        hardened = [j for j, d in enumerate(sc.defenses) if d.kind != "none"]
        if hardened:  # hardening trains through the link in latent units, not the digital chain's symbols
            raise KeyedError(f"defenses[{hardened[0]}].kind",
                             f"receiver hardening is not supported on a digital link (channels[{i}]); "
                             "put digital links in a scenario with `defenses: [{kind: none}]`")
        channel = make_channel(ch.kind, **ch.settings())
        for dim in dims:
            try:
                channel.frame(dim)
            except ValueError as err:
                key, _, why = str(err).partition(": ")
                raise KeyedError(f"channels[{i}].{key.strip('`')}", why) from None

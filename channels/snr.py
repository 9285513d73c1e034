"""Conversion of a signal-to-noise ratio [dB] to Sionna's noise variance ``no``.

With unit average symbol energy (``Es = 1``, see :mod:`channels.mapping`) the
noise variance per complex symbol is

.. math:: N_0 = 10^{-\\mathrm{SNR_{dB}}/10},

i.e. ``SNR = Es / N0``. Sionna's ``no`` is exactly this variance per complex
symbol (``no / 2`` per real dimension). This is the one place in the project
that converts ``snr_db`` to ``no``.
"""

from __future__ import annotations

from ._checks import check_snr_db

__all__ = ["snr_db_to_no"]


def snr_db_to_no(snr_db: float | None) -> float:
    """Noise variance per complex symbol for an SNR in [dB], with ``Es = 1``.

    ``no = 10 ** (-snr_db / 10)``; ``None`` means noiseless and gives ``0.0``.

    Args:
        snr_db: signal-to-noise ratio ``Es / N0`` [dB], a finite number, or ``None``.

    Returns:
        ``no``, the variance of the complex noise ``n ~ CN(0, no)``.

    Raises:
        TypeError: ``snr_db`` is not a real number or ``None``.
        ValueError: ``snr_db`` is not finite.

    Example:
        >>> snr_db_to_no(10.0)
        0.1
        >>> snr_db_to_no(0)
        1.0
        >>> snr_db_to_no(None)
        0.0
    """
    value = check_snr_db(snr_db)
    if value is None:
        return 0.0
    return 10.0 ** (-value / 10.0)

"""The variant registry: :class:`Variant`, its :class:`VariantSettings` and :func:`register_variant`
(docs/design.md §8); the families are the modules beside this one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from pydantic import BaseModel, ValidationError
from torch import nn

from semcom.registry import SETTINGS_CONFIG, check_registration

__all__ = ["RegularizerInputs", "Variant", "VariantSettings", "VARIANTS", "register_variant"]


@dataclass(frozen=True)
class RegularizerInputs:
    """What a regulariser may look at for one minibatch.

    ``z``, ``mu`` and ``logvar`` are ``[B, latent_dim]``; for deterministic
    encoders ``mu is z`` and ``logvar`` is ``None``.
    """

    z: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    dataset_size: int
    generator: torch.Generator | None


class VariantSettings(BaseModel):
    """The settings every built-in variant takes; a variant's ``Settings`` subclasses this."""

    model_config = SETTINGS_CONFIG

    power: Literal["sigma_z", "per_image"] = "sigma_z"
    """The transmitter's power normalisation (docs/design.md §7): ``sigma_z``, the fixed ``√2·σ_z`` of the
    training latents, or ``per_image``, DeepJSCC's per-image average-power constraint (each image's
    symbols have average power 1). Recorded with the model and shown in the report."""


class Variant:
    """A model family; a subclass sets ``Settings`` and, as it applies, ``regularizer`` and ``nets``.

    ``regularizer(inputs, settings) -> scalar`` is added to the reconstruction loss (``None``: no
    regulariser); ``nets(image_shape, settings) -> (encoder, decoder, k)`` replaces the paper's conv
    nets (``None``: :class:`semcom.models.nets.ConvEncoder` / ``ConvDecoder``).
    """

    Settings: ClassVar[type[VariantSettings]] = VariantSettings
    regularizer: Callable[[RegularizerInputs, Any], torch.Tensor] | None = None
    nets: Callable[[tuple[int, int, int], Any], tuple[nn.Module, nn.Module, int]] | None = None

    def __init__(self, name: str, *, stochastic: bool, description: str) -> None:
        self.name, self.stochastic, self.description = name, stochastic, description

    def settings(self, values: dict[str, Any]) -> VariantSettings:
        """``Settings`` from ``values``; unset (``None``) values and keys the variant does not take are skipped.

        Raises ValueError (one line naming the setting) for a bad value.
        """
        fields = self.Settings.model_fields
        try:
            return self.Settings(**{k: v for k, v in values.items() if v is not None and k in fields})
        except ValidationError as err:
            first = err.errors()[0]
            raise ValueError(f"`{'.'.join(map(str, first['loc']))}` of the {self.name} variant: {first['msg']}; "
                             f"got {first['input']!r}") from None


VARIANTS: dict[str, Variant] = {}
"""The registered variants by name (``semcom list`` shows them)."""


def register_variant(name: str, *, stochastic: bool, description: str) -> Callable[[type[Variant]], type[Variant]]:
    """Class decorator adding a :class:`Variant` subclass as variant ``name`` (several names may share a class)."""

    def decorate(cls: type[Variant]) -> type[Variant]:
        check_registration(VARIANTS, name, cls, base=Variant, what="variant", decorator="register_variant")
        if not issubclass(cls.Settings, VariantSettings):
            raise TypeError(f"variant {name!r}: its Settings must subclass VariantSettings; got {cls.Settings!r}")
        VARIANTS[name] = cls(name, stochastic=stochastic, description=description)
        return cls

    return decorate


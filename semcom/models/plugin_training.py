"""semcom trains your architecture: a plug-in's modules trained (or fine-tuned) like a built-in model.

A ``python`` factory may return untrained modules; an ``exported`` or
``torchscript`` pair is fine-tuned from its weights. When a scenario's model
entry gives training settings (:data:`semcom.study.model_entry.PLUGIN_TRAINING_KEYS`:
``epochs``, ``lr``, ``batch_size``, ``loss``, ``regularizer`` and ``weight``,
``train_channel``, ``early_stopping``), semcom trains encoder and decoder
together with :func:`semcom.models.training.fit`, the built-in models' loop (Adam,
seeded minibatches, the channel in the loop, progress and early stopping),
on the objective ``loss(x̂, x) + weight · regulariser(z)``. The regulariser is
one of the built-in variants' (KL needs a ``posterior`` encoder, which is
then sampled with the reparameterisation trick). Without training settings a
plug-in is used as given, as before.

The trained weights are stored under a key covering the model's identity (the
factory, its arguments, its module's source and its initial weights, or the
files' contents), the training settings and the data, so a rerun loads them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from semcom.models.autoencoder import AEOutput, _reparameterise
from semcom.models.variants.base import VARIANTS, RegularizerInputs

__all__ = ["RECON_LOSSES", "TrainableError", "objective_variant", "PluginObjective", "check_trainable"]

RECON_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "sse": lambda r, x: (r - x).pow(2).flatten(1).sum(1).mean(),
    "mse": lambda r, x: (r - x).pow(2).mean(),
    "l1": lambda r, x: (r - x).abs().mean(),
}
"""Reconstruction losses ``(x̂, x) -> scalar`` by scenario name (``sse``: the built-in models')."""

_OBJECTIVES = {  # (posterior encoder?, regulariser) -> the variant whose regulariser is used
    (True, "none"): None, (True, "kld"): "vae-kld", (True, "mmd"): "vae-mmd", (True, "swt"): "vae-swt",
    (False, "none"): "ae", (False, "mmd"): "dae-mmd", (False, "swt"): "dae-swt",
}


class TrainableError(ValueError):
    """A plug-in semcom cannot train; ``str`` is one line naming the reason."""


def objective_variant(posterior: bool, regularizer: str) -> str | None:
    """The built-in variant whose regulariser a plug-in is trained with (None: no regulariser)."""
    if (posterior, regularizer) not in _OBJECTIVES:
        raise TrainableError(f"`regularizer: {regularizer}` needs an encoder that returns a posterior "
                             "(`encoder_output: posterior`)")
    return _OBJECTIVES[posterior, regularizer]


class PluginObjective(nn.Module):
    """A :class:`semcom.models.plugins.PluginModel` with the training pass :func:`semcom.models.training.fit` calls.

    ``forward(x, dataset_size=, generator=, deliver=) -> AEOutput``: encode (sampling a
    posterior encoder's latent), carry through ``deliver`` (the channel in the loop), decode,
    reconstruction loss plus the weighted regulariser.
    """

    def __init__(self, model: nn.Module, *, loss: str, regularizer: str, weight: float | None) -> None:
        super().__init__()
        self.model = model
        self.latent_dim = model.latent_dim
        self.power = model.power
        self.posterior = model.encoder.encoder_output == "posterior"
        name = objective_variant(self.posterior, regularizer)
        variant = VARIANTS[name] if name else None
        self.reg = variant.regularizer if variant else None
        self.settings = variant.settings({"weight": weight}) if variant else None
        self.recon = RECON_LOSSES[loss]

    def _posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.model.encoder.net(x)
        if not self.posterior:
            return out, None
        mu, logvar = out if isinstance(out, (tuple, list)) else out.chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def forward(self, x: torch.Tensor, *, dataset_size: int = 1, generator: torch.Generator | None = None,
                deliver: Callable[[torch.Tensor], torch.Tensor] | None = None) -> AEOutput:
        mu, logvar = self._posterior(x)
        z = mu if logvar is None else _reparameterise(mu, logvar, generator)
        recon = self.model.decoder(z if deliver is None else deliver(z))
        recon_loss = self.recon(recon, x)
        reg_loss = (self.reg(RegularizerInputs(z, mu, logvar, dataset_size, generator), self.settings)
                    if self.reg is not None else recon_loss.new_zeros(()))
        return AEOutput(recon_loss + reg_loss, recon_loss, reg_loss, recon, z, mu, logvar)


def check_trainable(objective: PluginObjective, images: torch.Tensor) -> None:
    """One training pass on a few ``images``: every module has parameters that receive a gradient.

    Raises :class:`TrainableError` (no parameters, or a loss that does not reach them: a
    non-differentiable step such as rounding, ``argmax`` or ``detach``). Gradients are cleared.
    """
    parts = {"encoder": objective.model.encoder.net, "decoder": objective.model.decoder}
    for name, module in parts.items():
        if not any(p.requires_grad and p.is_floating_point() for p in module.parameters()):
            raise TrainableError(f"the {name} has no trainable parameters: semcom cannot train it")
    objective.train()
    try:
        loss = objective(images[:4], dataset_size=images.shape[0]).loss
        if loss.grad_fn is None:
            raise RuntimeError("the loss does not depend on any parameter")
        loss.backward()
    except RuntimeError as err:
        first = (str(err).strip().splitlines() or [""])[0][:160]
        raise TrainableError(f"the model cannot be trained by gradient descent ({first})") from None
    finally:
        objective.eval()
    for name, module in parts.items():
        reached = any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters())
        if not reached:
            raise TrainableError(f"no gradient reaches the {name}'s parameters: a step in the link is not "
                                 "differentiable (rounding, argmax, detach, integer casts)")
    objective.zero_grad(set_to_none=True)


def train_plugin(cfg, index: int, trained, spec: dict, images: torch.Tensor, store, *, seed: int,
                 device: str = "cpu", progress: bool | None = None):
    """Train the checked plug-in ``trained`` (a :class:`semcom.models.trained.TrainedModel`) per entry ``cfg``.

    Loads the weights from ``store`` when this model, these settings and this data were trained
    before; otherwise trains with :func:`semcom.models.training.fit` and stores them. Returns the
    trained :class:`~semcom.models.trained.TrainedModel` (its ``σ_z`` measured after training).
    Raises :class:`TrainableError` when the modules cannot be trained.
    """
    from semcom.models.trained import TrainedModel
    from semcom.models.training import TrainConfig, fit, train_spec, trained_sigma_z, training_meta
    from semcom.study.store import config_key

    model = trained.model
    tcfg = TrainConfig.from_entry(cfg, seed, variant=f"plugin:{cfg.regularizer or 'none'}", latent_dim=model.latent_dim)
    objective = PluginObjective(model, loss=cfg.loss or "sse", regularizer=cfg.regularizer or "none",
                                weight=tcfg.weight)
    full = {**spec, "kind": "plugin-trained", "train": train_spec(tcfg), "loss": cfg.loss or "sse"}
    key = config_key(full)
    entry = None if store is None else store.load(key)
    if entry is not None:
        model.load_state_dict(entry.tensors)
        meta = entry.meta
    else:
        check_trainable(objective, images.to(device))
        with torch.random.fork_rng(devices=[]):
            history = fit(objective, tcfg, images, device=device, progress=progress)
        model.train_history = history
        meta = {**full, "image_shape": list(images.shape[1:]), "latent_dim": model.latent_dim,
                "encoder_output": model.encoder.encoder_output, "sigma_z": trained_sigma_z(model, images),
                **training_meta(tcfg, model)}
        if store is not None:
            store.save(key, model.state_dict(), meta)
    for p in model.parameters():
        p.requires_grad_(True)
    return TrainedModel(model.to(device).eval(), float(meta["sigma_z"]), key, meta)

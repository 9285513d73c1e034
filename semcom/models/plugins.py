"""Plug-in models: your own encoder and decoder in semcom's links, sweeps and hardening.

A plug-in is a pair of torch modules, ``encoder(x [B, C, H, W]) -> latent``
and ``decoder(z [B, k]) -> x̂ [B, C, H, W]``, that semcom attacks and hardens,
used as given unless its scenario entry has training settings (then semcom
trains or fine-tunes it: :mod:`semcom.models.plugin_training`). :func:`plug_in` takes them from Python;
:func:`load_plugin` from a scenario's ``models[i]`` entry by ``source``
(:data:`SOURCES`):

* ``python`` — ``factory: "package.module:function"`` returns ``(encoder,
  decoder)``, optionally followed by a metadata dict with ``latent_dim``,
  ``image_shape`` and ``encoder_output``;
* ``exported`` — two programs saved with ``torch.export.save`` (``.pt2``);
* ``torchscript`` — two files saved with ``torch.jit.save``.

Files are read by :mod:`semcom.models.model_files`, which never unpickles. A dry
forward on a few images checks that the shapes fit the data and that the
batch size is free; ``σ_z``, the RMS of the latents of the training images,
fixes the power normalisation as for built-in models. A plug-in's store key
(the base of its hardened receivers' keys) covers the file contents, or the
factory, its arguments, its module's source and the weights it returned, and
the data.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semcom.models.factory_trust import FACTORY_MARK, entry_point_factories, factory_problem
from semcom.models.model_files import FixedMode, load_exported, load_torchscript
from semcom.models.trained import TrainedModel
from semcom.models.training import latent_rms, trained_sigma_z
from semcom.study.store import config_key

__all__ = ["ENCODER_OUTPUTS", "SOURCES", "PluginError", "PluginModel", "check_factories",
           "load_plugin", "plug_in", "plug_ins", "resolve_factory", "factory", "FACTORY_MARK"]

ENCODER_OUTPUTS = ("latent", "posterior")
_META_KEYS = ("latent_dim", "image_shape", "encoder_output")
_PROBE_BATCHES = (3, 2)  # two sizes: a program exported for one batch size fails


class PluginError(ValueError):
    """A plug-in model that cannot be used; ``str(err)`` starts with its key path."""


class _Latent(nn.Module):
    """The transmitted latent ``[B, k]`` of an encoder: its output, or its posterior mean."""

    def __init__(self, net: nn.Module, encoder_output: str, latent_dim: int) -> None:
        super().__init__()
        self.net = net
        self.encoder_output = encoder_output
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if self.encoder_output == "latent":
            return out
        if isinstance(out, (tuple, list)):
            return out[0]  # (mean, logvar)
        return out[:, : self.latent_dim]  # [B, 2k], mean first


class PluginModel(nn.Module):
    """A user's encoder and decoder in the shape :class:`semcom.link.Link` expects.

    ``encoder(x)`` gives the transmitted latent ``[B, latent_dim]`` (the
    posterior mean for a ``posterior`` encoder); ``decoder`` is the user's
    module itself, so hardening fine-tunes and stores exactly its parameters.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, latent_dim: int,
                 image_shape: tuple[int, ...], encoder_output: str = "latent", power: str = "sigma_z") -> None:
        super().__init__()
        self.power = power
        self.encoder = _Latent(encoder, encoder_output, latent_dim)
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The transmitted latent ``[B, latent_dim]``."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


def plug_in(
    encoder: nn.Module,
    decoder: nn.Module,
    images: torch.Tensor,
    *,
    encoder_output: str = "latent",
    latent_dim: int | None = None,
    key: str | None = None,
    meta: Mapping[str, Any] | None = None,
    device: str = "cpu",
    power: str = "sigma_z",
) -> TrainedModel:
    """Check a user's ``encoder``/``decoder`` on ``images`` and make them a :class:`TrainedModel`.

    Args:
        encoder: ``x [B, C, H, W] -> z [B, k]`` (``encoder_output="latent"``),
            or a posterior: ``(mean, logvar)`` or one ``[B, 2k]`` tensor, mean first.
        decoder: ``z [B, k] -> x̂ [B, C, H, W]``, the receiver; it needs
            parameters (hardening fine-tunes them).
        images: training images ``[N, C, H, W]`` in [0, 1]. A dry forward on
            the first few checks the shapes; ``σ_z`` (RMS of all their
            latents) fixes the power normalisation ``√2·σ_z``.
        encoder_output: ``"latent"`` or ``"posterior"``.
        latent_dim: expected ``k``; inferred from the encoder when None.
        key: the model's store key (the base of its hardened receivers' keys);
            by default a hash of the weights, the output kind and the images.
        meta: extra metadata kept in the result.
        device: where the modules run (they are moved there, in eval mode).
        power: the transmitter's power normalisation, ``sigma_z`` or ``per_image``
            (docs/design.md §7; ``σ_z`` is then 1).

    Raises:
        TypeError: the modules are not ``torch.nn.Module`` s.
        ValueError: they fail on the images, or their shapes do not fit them.
    """
    for name, module in (("encoder", encoder), ("decoder", decoder)):
        if not isinstance(module, nn.Module):
            raise TypeError(f"`{name}` must be a torch.nn.Module; got {type(module).__name__}")
    if encoder_output not in ENCODER_OUTPUTS:
        raise ValueError(f"`encoder_output` must be one of {ENCODER_OUTPUTS}; "
                         f"got {encoder_output!r}")
    if not any(p.is_floating_point() for p in decoder.parameters()):
        raise ValueError("the decoder has no parameters: semcom could not harden it")
    encoder.to(device).eval()
    decoder.to(device).eval()
    k = _probe(encoder, decoder, images, encoder_output, latent_dim, device)
    model = PluginModel(encoder, decoder, latent_dim=k, image_shape=tuple(images.shape[1:]),
                        encoder_output=encoder_output, power=power).eval()
    sigma = trained_sigma_z(model, images) if power == "per_image" else latent_rms(model, images)
    if not sigma > 0:
        raise ValueError(f"the encoder's latents must not all be zero (RMS σ_z = {sigma})")
    if key is None:
        key = config_key({"kind": "plugin", "weights": _weights_digest(encoder, decoder),
                          "encoder_output": encoder_output, "images": _tensor_digest(images)})
    info = {**(meta or {}), "latent_dim": k, "image_shape": list(images.shape[1:]),
            "encoder_output": encoder_output, "sigma_z": sigma, "power": power}
    return TrainedModel(model, sigma, key, info)


def _probe(encoder: nn.Module, decoder: nn.Module, images: torch.Tensor, encoder_output: str,
           latent_dim: int | None, device: str) -> int:
    """Dry forwards on two batch sizes; returns the latent size ``k``."""
    k = latent_dim
    for b in _PROBE_BATCHES:
        x = images[:b].to(device)
        with torch.no_grad():
            z = _latent_of(_call("encoder", encoder, x), encoder_output, b)
            if k is not None and z.shape[1] != k:
                raise ValueError(f"the encoder's latent has {z.shape[1]} dimensions; expected {k}")
            k = z.shape[1]
            x_hat = _call("decoder", decoder, z)
        if not isinstance(x_hat, torch.Tensor) or x_hat.shape != x.shape:
            got = list(x_hat.shape) if isinstance(x_hat, torch.Tensor) else type(x_hat).__name__
            raise ValueError(f"the decoder must return images shaped like the data's "
                             f"{list(x.shape)}; got {got}")
    return k


def _call(name: str, module: nn.Module, x: torch.Tensor) -> Any:
    try:
        return module(x)
    except Exception as err:  # noqa: BLE001 - any failure of user code is one line of bad input
        first = (str(err).strip().splitlines() or [""])[0][:200]
        hint = (" (an exported program takes only the shapes it was exported for: export it "
                "for this data's images, with a dynamic batch dimension, torch.export.Dim)"
                if isinstance(module, FixedMode) else "")
        raise ValueError(f"the {name} fails on a batch shaped {list(x.shape)}: "
                         f"{type(err).__name__}: {first}{hint}") from None


def _latent_of(out: Any, encoder_output: str, batch: int) -> torch.Tensor:
    """The transmitted latent ``[B, k]`` of an encoder output, after checking its shape."""
    if encoder_output == "posterior" and isinstance(out, (tuple, list)):
        pair = len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)
        if not pair or out[0].shape != out[1].shape:
            raise ValueError("a posterior encoder must return (mean, logvar), two tensors "
                             "of one shape")
        out = out[0]
    elif encoder_output == "posterior" and isinstance(out, torch.Tensor):
        if out.dim() != 2 or out.shape[1] % 2:
            raise ValueError(f"a posterior encoder's single output must be [B, 2k]; "
                             f"got {list(out.shape)}")
        out = out[:, : out.shape[1] // 2]
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"the encoder must return a tensor [B, k]; got {type(out).__name__} "
                         "(set `encoder_output: posterior` for a (mean, logvar) pair)")
    if out.dim() != 2 or out.shape[0] != batch or not out.is_floating_point():
        raise ValueError(f"the encoder's latent must be a real tensor [B, k]; "
                         f"got {out.dtype} {list(out.shape)}")
    return out


def _tensor_digest(t: torch.Tensor) -> str:
    t = t.detach().cpu().contiguous().reshape(-1)
    h = hashlib.sha256(f"{t.dtype}{t.numel()}".encode())
    h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _weights_digest(*modules: nn.Module) -> str:
    """SHA-256 of the modules' parameters and buffers, by name."""
    h = hashlib.sha256()
    for i, module in enumerate(modules):
        for name, t in sorted(module.state_dict().items()):
            h.update(f"{i}.{name}:{list(t.shape)}:{_tensor_digest(t)}".encode())
    return h.hexdigest()


# -- from a scenario ------------------------------------------------------------------------

Loaded = tuple[nn.Module, nn.Module, dict[str, Any], dict[str, Any]]
"""(encoder, decoder, metadata from the source, identity for the store key)."""


def factory(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn`` as a model factory that a scenario may name (``factory: "module:function"``).

    A scenario file names code to run; marking says the function was written to be named
    there. Returns ``fn`` unchanged but for the mark (``FACTORY_MARK``).
    """
    setattr(fn, FACTORY_MARK, True)
    return fn


def resolve_factory(spec: str, where: str) -> Callable[..., Any]:
    """Import ``"package.module:function"``, also from the working folder; errors name ``where``.

    Only a marked factory (``@semcom.factory``) or one registered as an entry point is imported:
    the mark is looked for in the module's source first (:mod:`semcom.models.factory_trust`), so an
    unmarked function is refused before its module's code runs.
    """
    problem, _ = factory_problem(spec)
    if problem:
        raise PluginError(f"{where}: {problem}")
    module_name, _, attr = spec.partition(":")
    cwd = str(Path.cwd())
    added = cwd not in sys.path
    if added:
        sys.path.append(cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - an import failure of user code is bad input
        reason = (str(err).strip().splitlines() or [""])[0]
        raise PluginError(f"{where}: cannot import module {module_name!r} "
                          f"({type(err).__name__}: {reason})") from None
    finally:
        if added:
            sys.path.remove(cwd)
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise PluginError(f"{where}: module {module_name!r} has no function {attr!r}")
    if not getattr(fn, FACTORY_MARK, False) and spec not in entry_point_factories():
        raise PluginError(f"{where}: {spec} is not marked as a semcom factory (its source names a "
                          "`factory` decorator that is not semcom's); refused before calling it")
    return fn


def _from_factory(cfg, where: str, seed: int) -> Loaded:
    where = f"{where}.factory"
    fn = resolve_factory(cfg.factory, where)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # a factory that initialises at random is reproducible
        try:
            made = fn(**cfg.factory_kwargs)
        except Exception as err:  # noqa: BLE001 - any failure of user code is bad input
            raise PluginError(f"{where}: {cfg.factory} raised {type(err).__name__}: "
                              f"{err}") from None
    pair = isinstance(made, (tuple, list)) and len(made) in (2, 3)
    if not (pair and all(isinstance(m, nn.Module) for m in made[:2])
            and (len(made) == 2 or isinstance(made[2], Mapping))):
        got = (f"a {type(made).__name__} of {len(made)}" if isinstance(made, (tuple, list))
               else type(made).__name__)
        raise PluginError(f"{where}: {cfg.factory} must return (encoder, decoder) "
                          f"torch.nn.Modules, optionally plus a metadata dict; got {got}")
    meta = dict(made[2]) if len(made) == 3 else {}
    unknown = sorted(set(meta) - set(_META_KEYS))
    if unknown:
        raise PluginError(f"{where}: unknown metadata key {unknown[0]!r} "
                          f"(valid: {', '.join(_META_KEYS)})")
    source_file = inspect.getsourcefile(fn)
    identity = {"factory": cfg.factory, "factory_kwargs": cfg.factory_kwargs,
                "source_sha256": _file_sha256(source_file) if source_file else None,
                "weights": _weights_digest(made[0], made[1])}
    return made[0], made[1], meta, identity


def _file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _from_files(load: Callable[[bytes, str], nn.Module]) -> Callable[[Any, str, int], Loaded]:
    def loader(cfg, where: str, seed: int) -> Loaded:
        modules, identity = [], {}
        for key in ("encoder", "decoder"):
            path = getattr(cfg, key)
            try:
                data = Path(path).read_bytes()
                modules.append(load(data, path))
            except (OSError, ValueError) as err:
                raise PluginError(f"{where}.{key}: {err}") from None
            identity[f"{key}_sha256"] = hashlib.sha256(data).hexdigest()
        return modules[0], modules[1], {}, identity

    return loader


SOURCES: dict[str, Callable[[Any, str, int], Loaded]] = {
    "python": _from_factory,
    "exported": _from_files(load_exported),
    "torchscript": _from_files(load_torchscript),
}
"""Loaders by ``models[i].source``: ``(cfg, key path, seed) -> Loaded``."""


def load_plugin(cfg, index: int, images: torch.Tensor, data_key: dict[str, Any], *,
                seed: int = 0, device: str = "cpu", store=None, progress: bool | None = None) -> TrainedModel:
    """Load scenario entry ``models[index]`` (a plug-in ``ModelConfig``) and check it on ``images``.

    With training settings (:data:`semcom.study.model_entry.PLUGIN_TRAINING_KEYS`) semcom then trains
    or fine-tunes its modules, or loads them from ``store`` (:mod:`semcom.models.plugin_training`).
    Raises :class:`PluginError`, starting with the key path, for every
    problem a user can fix.
    """
    where = f"models[{index}]"
    encoder, decoder, meta, identity = SOURCES[cfg.source](cfg, where, seed)
    output = _agree(where, "encoder_output", cfg.encoder_output, meta.get("encoder_output"))
    given_k = cfg.latent_dim if "latent_dim" in cfg.model_fields_set else None
    k = _agree(where, "latent_dim", given_k, meta.get("latent_dim"))
    shape = meta.get("image_shape")
    if shape is not None and list(shape) != list(images.shape[1:]):
        raise PluginError(f"{where}: the model takes images shaped {list(shape)}, "
                          f"the data's are {list(images.shape[1:])}")
    output = output or "latent"
    spec = {"kind": "plugin", "source": cfg.source, **identity, "encoder_output": output,
            "data": data_key}
    try:
        trained = plug_in(encoder, decoder, images, encoder_output=output, latent_dim=k,
                          key=config_key(spec), meta=spec, device=device, power=cfg.own.power)
    except (TypeError, ValueError) as err:
        raise PluginError(f"{where}: {err}") from None
    if not cfg.trained:
        return trained  # used as given
    from semcom.models.plugin_training import TrainableError, train_plugin

    try:
        return train_plugin(cfg, index, trained, spec, images, store, seed=seed, device=device, progress=progress)
    except TrainableError as err:
        raise PluginError(f"{where}: {err}") from None


def _agree(where: str, key: str, scenario: Any, metadata: Any) -> Any:
    """The scenario's value, else the factory's metadata; an error if both are given and differ."""
    if scenario is not None and metadata is not None and scenario != metadata:
        raise PluginError(f"{where}.{key}: the scenario says {scenario!r}, "
                          f"the factory's metadata {metadata!r}")
    return scenario if scenario is not None else metadata


def plug_ins(sc, images: torch.Tensor, data_key: dict[str, Any], *, device: str = "cpu", store=None,
             progress: bool | None = None) -> dict[str, TrainedModel]:
    """Every plug-in model of scenario ``sc`` by model name, loaded and checked on ``images``
    (and trained, or loaded trained from ``store``, when its entry has training settings)."""
    return {m.name: load_plugin(m, i, images, data_key, seed=sc.seed, device=device, store=store,
                                progress=progress)
            for i, m in enumerate(sc.models) if m.source != "builtin"}


def check_factories(models) -> list[str]:
    """Check every `python` model's factory as a run would (`semcom validate`): marked, importable.

    Returns one line per piece of outside code or file a run would load: ``models[i].factory
    module:function (source file)`` and ``models[i].encoder path``. Raises :class:`PluginError`.
    """
    loads = []
    for i, m in enumerate(models):
        if m.source == "python":
            resolve_factory(m.factory, f"models[{i}].factory")
            _, source = factory_problem(m.factory)
            loads.append(f"models[{i}].factory {m.factory} (runs code from {source or 'an installed package'})")
        elif m.source != "builtin":
            loads += [f"models[{i}].{key} {getattr(m, key)} ({m.source} file)" for key in ("encoder", "decoder")]
    return loads

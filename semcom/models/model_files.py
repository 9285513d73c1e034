"""Reading a user's saved modules: ``torch.export`` programs and TorchScript, never pickle.

* :func:`load_exported` — a program saved with ``torch.export.save`` (``.pt2``),
  loaded with ``torch.export.load`` and made a module again with
  ``ExportedProgram.module()``; its parameters are trainable.
  ``torch.export.load`` itself unpickles some payloads (tensor subclasses,
  custom objects, legacy weight files, and sample inputs that a
  ``weights_only`` load refuses), so archives holding any of these are refused
  before it runs.
* :func:`load_torchscript` — a file saved with ``torch.jit.save``, loaded with
  ``torch.jit.load`` (TorchScript's own restricted loader; ``torch.jit`` is
  deprecated by torch but widespread), wrapped so that copies stay trainable.

Both take the file's bytes (hashed by the caller for the model's store key)
and raise :class:`ValueError` with a one-line reason.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

__all__ = ["FixedMode", "Scripted", "load_exported", "load_torchscript"]


class FixedMode(nn.Module):
    """A module whose train/eval mode was fixed when it was exported.

    ``ExportedProgram.module()`` refuses ``train()`` and ``eval()``. This
    wrapper records the flag and leaves the program alone, so it keeps the
    behaviour it was exported with — export in eval mode (BatchNorm on
    running statistics), which is also how semcom fine-tunes a receiver.
    Its parameters stay trainable.
    """

    def __init__(self, program: nn.Module) -> None:
        super().__init__()
        self.program = program

    def train(self, mode: bool = True) -> FixedMode:
        self.training = mode
        return self

    def forward(self, *args: Any) -> Any:
        return self.program(*args)


def load_exported(data: bytes, path: str) -> FixedMode:
    """The module of the ``torch.export`` archive ``data`` (read from ``path``, named in errors)."""
    _refuse_pickles(data, path)
    try:
        program = torch.export.load(io.BytesIO(data))
    except Exception as err:  # noqa: BLE001 - a corrupt file is bad input
        raise ValueError(f"{path!r} is not a loadable torch.export program "
                         f"({type(err).__name__})") from None
    return FixedMode(program.module())


class Scripted(nn.Module):
    """A TorchScript module that survives ``copy.deepcopy`` trainable.

    ``copy.deepcopy`` of a ``ScriptModule`` gives parameters that are not
    autograd leaves, so an optimiser cannot train the copy (semcom copies a
    receiver before hardening it). A copy of this wrapper saves and re-loads
    the module instead.
    """

    def __init__(self, script: nn.Module) -> None:
        super().__init__()
        self.script = script

    def forward(self, *args: Any) -> Any:
        return self.script(*args)

    def __deepcopy__(self, memo: dict) -> Scripted:
        buffer = io.BytesIO()
        with _jit_quiet():
            torch.jit.save(self.script, buffer)
        device = next(self.script.parameters(), torch.empty(0)).device
        return Scripted(_jit_load(buffer.getvalue(), device)).train(self.training)


@contextmanager
def _jit_quiet() -> Iterator[None]:
    """Silence torch's deprecation warning for ``torch.jit``: the user chose TorchScript."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+.* is deprecated",
                                category=FutureWarning)
        yield


def _jit_load(data: bytes, device: torch.device | str = "cpu") -> nn.Module:
    with _jit_quiet():
        return torch.jit.load(io.BytesIO(data), map_location=device)


def load_torchscript(data: bytes, path: str) -> Scripted:
    """The module of the TorchScript file ``data`` (from ``path``, named in errors), on the CPU."""
    try:
        return Scripted(_jit_load(data))
    except Exception as err:  # noqa: BLE001 - a corrupt or foreign file is bad input
        hint = "; saved with torch.export? use `source: exported`" if _pt2_prefix(data) else ""
        raise ValueError(f"{path!r} is not a TorchScript file "
                         f"({type(err).__name__}){hint}") from None


def _names(data: bytes) -> list[str] | None:
    """The member names of zip archive ``data``, None if it is not one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except zipfile.BadZipFile:
        return None


def _pt2_prefix(data: bytes) -> str | None:
    """The folder prefix (``"<name>/"``) of a ``torch.export.save`` archive, None if not one."""
    marks = [n.removesuffix("archive_format") for n in _names(data) or []
             if n == "archive_format" or n.endswith("/archive_format")]
    return marks[0] if marks else None


def _refuse_pickles(data: bytes, path: str) -> None:
    """Refuse a ``.pt2`` archive that would make ``torch.export.load`` unpickle anything.

    Plain programs (ordinary tensors) keep weights and constants as raw
    bytes; their sample inputs are checked here with ``weights_only=True``,
    so ``torch.export.load`` never falls back to a full unpickle.
    """
    prefix = _pt2_prefix(data)
    if prefix is None:
        torchscript = any("/code/" in n for n in _names(data) or [])
        hint = "; saved with torch.jit? use `source: torchscript`" if torchscript else ""
        raise ValueError(f"{path!r} is not a torch.export archive (.pt2){hint}")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            rel = name[len(prefix):]
            if rel.startswith(("data/weights/", "data/constants/")) and rel.endswith(".pt"):
                raise ValueError(f"{path!r} uses torch.export's legacy pickled format; "
                                 "re-save it with torch.export.save")
            if rel.endswith(("weights_config.json", "constants_config.json")):
                entries = json.loads(archive.read(name)).get("config", {}).values()
                if any(e.get("use_pickle") or not str(e.get("path_name", "")).startswith(
                        ("weight_", "tensor_")) for e in entries):
                    raise ValueError(f"{path!r} holds pickled objects (tensor subclasses or "
                                     "custom objects); semcom loads plain tensors only")
            if rel.startswith("data/sample_inputs/"):
                try:
                    torch.load(io.BytesIO(archive.read(name)), weights_only=True)
                except Exception:  # noqa: BLE001 - anything but plain tensors is refused
                    raise ValueError(f"{path!r} has sample inputs that are not plain "
                                     "tensors") from None

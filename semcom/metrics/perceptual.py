"""LPIPS, the learned perceptual distance (Zhang et al., CVPR 2018), offline only.

The ``lpips`` package (v0.1, AlexNet trunk) needs two sets of weights:

* its linear calibration layers, shipped inside the pip package
  (``lpips/weights/v0.1/alex.pth``);
* torchvision's ImageNet AlexNet, which torchvision would download into the
  torch hub cache, ``torch.hub.get_dir()/checkpoints/alexnet-owt-7be5be79.pth``
  (:func:`alexnet_weights_path`).

semcom never downloads: the trunk is read from the hub cache when the file is
there, and otherwise LPIPS is *unavailable* (:func:`lpips_status` says why,
:func:`load_lpips` raises :class:`LpipsUnavailable`). It is never computed on
random trunk weights. To make it available on an offline machine, fetch the
file once where there is a network
(``python -c "import torchvision; torchvision.models.alexnet(weights='IMAGENET1K_V1')"``)
and copy it to the same path under the offline machine's hub folder
(``$TORCH_HOME/hub/checkpoints/``, default ``~/.cache/torch/hub/checkpoints/``).

Both files are read with ``torch.load(..., weights_only=True)``, the loader
that accepts tensors and plain containers only. The hub file is not checked
against the hash in its name (that would read 233 MB at every status check);
a file of the wrong architecture fails the strict load and is reported as
unavailable. The ``lpips`` model is built with a random trunk
(``pnet_rand=True``, so torchvision fetches nothing) and the ImageNet
convolutions are then copied into it.

Importing this module registers :func:`lpips_distance` as the ``"lpips"``
distance of latent PGD (``adversary.DISTANCES``); :mod:`semcom.metrics.quality`
offers it as the ``"lpips"`` metric, which a run reports as unavailable,
with :func:`lpips_unavailable_reason`, when the weights cannot be loaded.

Images ``[B, C, H, W]`` in [0, 1] are mapped to [−1, 1]; grey images (``C = 1``)
are replicated to 3 channels. AlexNet's third pooling needs sides of at least
31 pixels, so images whose shorter side is below ``min_size`` (default 64) are
upsampled bilinearly to it first (MNIST's 28×28 becomes 64×64).

Example (with the ImageNet weights in the hub cache):
    >>> status = lpips_status()
    >>> if status.available:  # doctest: +SKIP
    ...     metric = load_lpips("cpu")
    ...     metric(torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)).shape
    torch.Size([2])
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import nn

from adversary import register_distance

__all__ = [
    "ALEXNET_URL",
    "LpipsMetric",
    "LpipsStatus",
    "LpipsUnavailable",
    "alexnet_weights_path",
    "load_lpips",
    "lpips_distance",
    "lpips_linear_weights_path",
    "lpips_status",
    "lpips_unavailable_reason",
]

log = logging.getLogger(__name__)

ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
"""torchvision's ``AlexNet_Weights.IMAGENET1K_V1``; only its file name is used here."""

_LPIPS_VERSION = "0.1"


class LpipsUnavailable(RuntimeError):
    """LPIPS cannot be computed here; the message says which file is missing and how to fix it."""


@dataclass(frozen=True)
class LpipsStatus:
    """Whether LPIPS can be loaded, and if not, why (``reason`` is None when available)."""

    available: bool
    reason: str | None = None


def alexnet_weights_path(hub_dir: str | os.PathLike | None = None) -> Path:
    """Where torchvision keeps the ImageNet AlexNet.

    ``<hub_dir>/checkpoints/alexnet-owt-7be5be79.pth``, the file name being the
    last part of :data:`ALEXNET_URL`.

    ``hub_dir`` defaults to ``torch.hub.get_dir()`` (``$TORCH_HOME/hub``), read
    at every call, the same rule ``torch.hub.load_state_dict_from_url`` uses.
    """
    root = Path(torch.hub.get_dir() if hub_dir is None else hub_dir)
    return root / "checkpoints" / os.path.basename(urlparse(ALEXNET_URL).path)


def lpips_linear_weights_path() -> Path | None:
    """The AlexNet calibration layers shipped with ``lpips``, or None if it is not installed.

    Found without importing ``lpips`` (which takes a second or more).
    """
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "weights" / f"v{_LPIPS_VERSION}" / "alex.pth"


def lpips_status(hub_dir: str | os.PathLike | None = None) -> LpipsStatus:
    """Whether LPIPS is available, by checking that both weight files exist (reads neither).

    >>> isinstance(lpips_status().available, bool)
    True
    """
    lin = lpips_linear_weights_path()
    if lin is None:
        return LpipsStatus(False, "the `lpips` package is not installed (pip install lpips)")
    if not lin.is_file():
        return LpipsStatus(
            False, f"the lpips package lacks its linear-layer weights {lin}; reinstall lpips"
        )
    trunk = alexnet_weights_path(hub_dir)
    if not trunk.is_file():
        return LpipsStatus(
            False,
            f"ImageNet AlexNet weights not found at {trunk} and semcom never downloads them; "
            'fetch them where there is a network with `python -c "import torchvision; '
            "torchvision.models.alexnet(weights='IMAGENET1K_V1')\"` and copy the file there "
            "(or point $TORCH_HOME at a hub cache that has it)",
        )
    return LpipsStatus(True, None)


class LpipsMetric(nn.Module):
    """Per-sample LPIPS ``[B]`` (v0.1, AlexNet) of images in [0, 1]; lower is more similar.

    Build it with :func:`load_lpips`. Differentiable in both inputs, so attacks
    can use it as a distance; its own weights are frozen. ``target`` may have
    batch size 1 (one reference for every sample).

    Args:
        net: an ``lpips.LPIPS`` model with its weights loaded.
        min_size: shorter image side below which inputs are upsampled (bilinear)
            to this size; AlexNet needs at least 31 pixels.
    """

    def __init__(self, net: nn.Module, *, min_size: int = 64) -> None:
        super().__init__()
        if isinstance(min_size, bool) or not isinstance(min_size, int):
            raise TypeError(f"`min_size` must be an integer; got {min_size!r}")
        if min_size < 31:
            raise ValueError(f"`min_size` must be ≥ 31 (AlexNet's receptive field); got {min_size}")
        self.net = net.eval().requires_grad_(False)
        self.min_size = min_size

    def train(self, mode: bool = True) -> LpipsMetric:
        """A metric has no training mode: stays in eval mode whatever is asked."""
        return super().train(False)

    def _prepare(self, x: torch.Tensor, name: str) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"`{name}` must be a tensor; got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"`{name}` must be [B, 1 or 3, H, W]; got {tuple(x.shape)}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grey -> RGB  [B, 3, H, W]
        h, w = x.shape[-2:]
        if min(h, w) < self.min_size:
            scale = self.min_size / min(h, w)
            size = (max(self.min_size, round(h * scale)), max(self.min_size, round(w * scale)))
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return 2.0 * x - 1.0  # [0, 1] -> [-1, 1]

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """LPIPS ``[B]`` of ``pred`` and ``target [B, C, H, W]`` in [0, 1], ``C ∈ {1, 3}``."""
        if isinstance(pred, torch.Tensor) and isinstance(target, torch.Tensor):
            if target.shape[0] == 1 and pred.shape[0] != 1:
                target = target.expand(pred.shape[0], *target.shape[1:])
            if pred.shape != target.shape:
                raise ValueError(
                    f"`pred` and `target` must have the same shape; got {tuple(pred.shape)} "
                    f"and {tuple(target.shape)}"
                )
        p, t = self._prepare(pred, "pred"), self._prepare(target, "target")
        return self.net(p, t, normalize=False).flatten()  # [B, 1, 1, 1] -> [B]


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise LpipsUnavailable(f"cannot read weights {path}: {err}") from err
    if not isinstance(state, dict):
        raise LpipsUnavailable(f"weights {path} are not a state dict (got {type(state).__name__})")
    return state


def load_lpips(
    device: str | torch.device = "cpu",
    *,
    hub_dir: str | os.PathLike | None = None,
    min_size: int = 64,
) -> LpipsMetric:
    """Build the LPIPS metric from local files only, on ``device``.

    Raises:
        LpipsUnavailable: a weight file is missing (see :func:`lpips_status`) or
            does not hold the expected AlexNet tensors. Nothing is downloaded.
    """
    status = lpips_status(hub_dir)
    if not status.available:
        raise LpipsUnavailable(status.reason)
    import lpips

    with warnings.catch_warnings():
        # lpips asks torchvision for `alexnet(pretrained=False)`: deprecated, but fetches nothing
        warnings.filterwarnings("ignore", message=r".*deprecated since 0\.13", category=UserWarning)
        net = lpips.LPIPS(
            net="alex",
            version=_LPIPS_VERSION,
            pretrained=False,  # calibration layers are loaded below, with the safe loader
            pnet_rand=True,  # random trunk: torchvision must not download; ImageNet copied below
            use_dropout=False,
            verbose=False,
        )

    trunk_path = alexnet_weights_path(hub_dir)
    imagenet = _torch_load(trunk_path)
    # lpips splits AlexNet's `features` into slices keeping the module indices:
    # `slice2.3.weight` is torchvision's `features.3.weight`.
    try:
        trunk = {
            n: imagenet[f"features.{n.split('.', 1)[1]}"] for n, _ in net.net.named_parameters()
        }
        net.net.load_state_dict(trunk, strict=True)
    except (KeyError, RuntimeError) as err:
        raise LpipsUnavailable(
            f"{trunk_path} does not hold torchvision's AlexNet weights: {err}"
        ) from err

    lin_path = lpips_linear_weights_path()
    calib = _torch_load(lin_path)
    try:  # the shipped file was saved with dropout: `lin0.model.1.weight`
        for i, lin in enumerate(net.lins):
            lin.load_state_dict({"model.0.weight": calib[f"lin{i}.model.1.weight"]}, strict=True)
    except (KeyError, RuntimeError) as err:
        raise LpipsUnavailable(
            f"{lin_path} does not hold lpips' AlexNet linear layers: {err}"
        ) from err

    log.info("LPIPS (AlexNet, v%s) loaded from %s", _LPIPS_VERSION, trunk_path)
    return LpipsMetric(net, min_size=min_size).to(device)


@functools.lru_cache(maxsize=4)
def _cached_lpips(device: str, hub_dir: str) -> LpipsMetric:
    """One loaded metric per (device, hub folder): a changed ``$TORCH_HOME`` is honoured."""
    return load_lpips(device, hub_dir=hub_dir)


def lpips_unavailable_reason() -> str | None:
    """Why LPIPS cannot be computed here (None when it can), found by loading it once.

    Stricter than :func:`lpips_status`: a hub file of the wrong kind is caught
    here, before a run starts, not in the middle of it.
    """
    try:
        _cached_lpips("cpu", torch.hub.get_dir())
    except LpipsUnavailable as err:
        return str(err)
    return None


@register_distance("lpips")
def lpips_distance(output: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """LPIPS per sample ``[B]`` (v0.1, AlexNet) of images ``[B, C, H, W]`` in [0, 1]; 0 = identical.

    The ``"lpips"`` distance of latent PGD and the ``"lpips"`` metric of a
    scenario. Loaded once per device from the torch hub cache.

    Raises:
        LpipsUnavailable: the weights are not on this machine (nothing is downloaded).
    """
    metric = _cached_lpips(str(output.device), torch.hub.get_dir())
    return metric(output, reference)

"""The reference classifier of a data set: semantic accuracy and classifier FID.

A small CNN (:class:`ClassifierNet`: two conv + max-pool blocks, then two
linear layers) is trained once per data set with Adam on the training split
and kept in the model store like any model (key = hash of ``{"kind":
"classifier", "train": config, "data": data key}``). It judges reconstructions:

* **semantic accuracy** (:func:`semantic_accuracy`): per sample, 1 when the
  reconstruction ``x̂`` is classified as the true class of ``x``, else 0;
* **classifier FID** (:func:`classifier_fid`): the Fréchet distance between
  Gaussian fits of the classifier's penultimate features of real and
  reconstructed images — the FID of Heusel et al. (NeurIPS 2017) with this
  classifier in place of Inception, so values are comparable only between runs
  that share the classifier (its store key is in :attr:`Classifier.key`).

Weight init is seeded inside ``torch.random.fork_rng`` (torch's global
generator is left as it was); shuffling uses a seeded ``torch.Generator``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from semcom.models.training import minibatches
from semcom.study.store import ModelStore, config_key

__all__ = [
    "Classifier",
    "ClassifierConfig",
    "ClassifierNet",
    "classifier_fid",
    "frechet_distance",
    "gaussian_fit",
    "get_or_train_classifier",
    "semantic_accuracy",
    "train_classifier",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that determines a reference classifier besides its data.

    ``arch`` names the network layout, so a change of :class:`ClassifierNet`
    gets new store keys.
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    arch: str = "cnn2-v1"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"`{name}` must be an integer; got {value!r}")
        if self.epochs < 1:
            raise ValueError(f"`epochs` must be ≥ 1; got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"`batch_size` must be ≥ 1; got {self.batch_size}")
        if self.seed < 0:
            raise ValueError(f"`seed` must be ≥ 0; got {self.seed}")
        if not isinstance(self.lr, int | float) or isinstance(self.lr, bool) or not self.lr > 0:
            raise ValueError(f"`lr` must be a positive number; got {self.lr!r}")


class ClassifierNet(nn.Module):
    """Small CNN for ``[C, H, W]`` images (28×28 MNIST, 64×64 CelebA / folders, …).

    ``[B, C, H, W] → standardise → conv5×5(16) → ReLU → pool2 → conv3×3(32) →
    ReLU → pool2 → adaptive-avg-pool to 7×7 → [B, 1568] → linear(128) → ReLU
    (features) → linear(num_classes) (logits)``. The per-channel mean and
    standard deviation of the training images are buffers, stored with the
    weights.
    """

    feature_dim = 128

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, in_channels, 1, 1))
        self.register_buffer("std", torch.ones(1, in_channels, 1, 1))
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 16, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(7),
            nn.Flatten(),
        )
        self.hidden = nn.Sequential(nn.Linear(32 * 7 * 7, self.feature_dim), nn.ReLU())
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``[B, 128]`` (after the ReLU)."""
        return self.hidden(self.conv((x - self.mean) / self.std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, num_classes]``."""
        return self.head(self.features(x))


def _check_images(images: torch.Tensor, name: str, shape: tuple[int, ...] | None = None) -> None:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"`{name}` must be a tensor; got {type(images).__name__}")
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(
            f"`{name}` must be a float [N, C, H, W] tensor; "
            f"got {images.dtype} {tuple(images.shape)}"
        )
    if shape is not None and tuple(images.shape[1:]) != shape:
        raise ValueError(
            f"`{name}` must have image shape {shape} (the classifier's); "
            f"got {tuple(images.shape[1:])}"
        )


def _check_labels(labels: torch.Tensor, n: int, num_classes: int | None = None) -> None:
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"`labels` must be a tensor; got {type(labels).__name__}")
    if labels.dtype != torch.int64 or labels.shape != (n,):
        raise ValueError(
            f"`labels` must be an int64 [{n}] tensor; got {labels.dtype} {tuple(labels.shape)}"
        )
    if num_classes is not None and n and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"`labels` must lie in [0, {num_classes}); got [{labels.min()}, {labels.max()}]"
        )


def train_classifier(
    cfg: ClassifierConfig,
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    *,
    device: str | torch.device = "cpu",
    progress: bool | None = None,
) -> ClassifierNet:
    """Train a fresh :class:`ClassifierNet` on ``images [N, C, H, W]`` in [0, 1] and ``labels [N]``.

    Cross-entropy, Adam with a one-cycle schedule peaking at ``cfg.lr``
    (Smith & Topin 2019), inputs standardised per channel with the training
    set's statistics. Returns the network in eval mode on ``device``.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = ClassifierNet(images.shape[1], num_classes)
    net.mean.copy_(images.mean(dim=(0, 2, 3), keepdim=True))  # [1, C, 1, 1]
    net.std.copy_(images.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3))
    net.to(device).train()
    n = images.shape[0]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    steps = cfg.epochs * -(-n // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    gen = torch.Generator().manual_seed(cfg.seed)
    bar = tqdm(
        range(cfg.epochs),
        desc="train classifier",
        disable=None if progress is None else not progress,
    )
    for _ in bar:
        total, correct = 0.0, 0
        for idx in minibatches(n, cfg.batch_size, gen):
            x, y = images[idx].to(device), labels[idx].to(device)
            logits = net(x)  # [b, num_classes]
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
        bar.set_postfix(loss=f"{total / n:.3f}", acc=f"{correct / n:.3f}")
    return net.eval()


@dataclass(frozen=True)
class Classifier:
    """A trained reference classifier (eval mode) and its store record.

    ``predict`` runs without gradients; ``logits`` and ``features`` keep them,
    so an attack may use them as objectives. Inputs go to the network's device;
    outputs come back on the inputs' device. Large inputs are processed in
    chunks of ``batch_size``.
    """

    net: ClassifierNet
    key: str
    meta: dict[str, Any]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.meta["image_shape"]
        return (c, h, w)

    @property
    def num_classes(self) -> int:
        return int(self.meta["num_classes"])

    def _apply(
        self, fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int
    ) -> torch.Tensor:
        _check_images(images, "images", self.image_shape)
        device = next(self.net.parameters()).device
        outs = [fn(chunk.to(device)).to(images.device) for chunk in images.split(batch_size)]
        return torch.cat(outs) if outs else fn(images.to(device)).to(images.device)

    def logits(self, images: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
        """Logits ``[B, num_classes]`` of ``images [B, C, H, W]`` in [0, 1]."""
        return self._apply(self.net, images, batch_size)

    def features(self, images: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
        """Penultimate-layer features ``[B, 128]`` of ``images [B, C, H, W]`` in [0, 1]."""
        return self._apply(self.net.features, images, batch_size)

    @torch.no_grad()
    def predict(self, images: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
        """Predicted classes ``[B]`` (int64) of ``images [B, C, H, W]`` in [0, 1]."""
        return self.logits(images, batch_size=batch_size).argmax(1)


def get_or_train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    data_key: dict[str, Any],
    store: ModelStore,
    *,
    epochs: int = ClassifierConfig.epochs,
    seed: int = ClassifierConfig.seed,
    batch_size: int = ClassifierConfig.batch_size,
    lr: float = ClassifierConfig.lr,
    device: str | torch.device = "cpu",
    progress: bool | None = None,
) -> Classifier:
    """The reference classifier for (config, data) from ``store``; trained and stored if absent.

    ``images [N, C, H, W]`` and ``labels [N]`` are the training split;
    ``data_key`` identifies it (as for :func:`semcom.models.training.get_or_train`).
    The stored metadata records the training accuracy and loss of the last epoch.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"`num_classes` must be an integer; got {num_classes!r}")
    if num_classes < 2:
        raise ValueError(f"`num_classes` must be ≥ 2; got {num_classes}")
    _check_images(images, "images")
    _check_labels(labels, images.shape[0], num_classes)
    if images.shape[0] == 0:
        raise ValueError("`images` must hold at least one training image; got 0")
    cfg = ClassifierConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    spec = {"kind": "classifier", "train": asdict(cfg), "data": data_key}
    key = config_key(spec)
    image_shape = list(images.shape[1:])
    entry = store.load(key)
    if (
        entry is not None
        and entry.meta.get("image_shape") == image_shape
        and entry.meta.get("num_classes") == num_classes
    ):
        net = ClassifierNet(image_shape[0], num_classes)
        net.load_state_dict(entry.tensors)
        log.info("loaded reference classifier %s from the store", key)
        return Classifier(net.to(device).eval(), key, entry.meta)
    if entry is not None:
        log.warning("store entry %s does not match the data (shape or classes); retraining", key)
    net = train_classifier(cfg, images, labels, num_classes, device=device, progress=progress)
    meta = {
        **spec,
        "image_shape": image_shape,
        "num_classes": num_classes,
        **_train_scores(net, images, labels),
    }
    store.save(key, net.state_dict(), meta)
    return Classifier(net, key, {**meta, "key": key})


@torch.no_grad()
def _train_scores(
    net: ClassifierNet, images: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    device = next(net.parameters()).device
    loss, correct = 0.0, 0
    for x, y in zip(images.split(512), labels.split(512), strict=True):
        logits = net(x.to(device))
        loss += F.cross_entropy(logits, y.to(device), reduction="sum").item()
        correct += (logits.argmax(1).cpu() == y).sum().item()
    return {"train_accuracy": correct / len(labels), "train_loss": loss / len(labels)}


def semantic_accuracy(
    classifier: Classifier, recon: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Per-sample semantic accuracy ``[B]``: 1.0 where ``recon`` is classified as ``labels``.

    ``recon [B, C, H, W]`` in [0, 1], ``labels [B]`` int64 (the true classes of
    the inputs); 0.0 where the prediction differs.

    Its mean is the share of reconstructions whose class is still the true one
    (docs/design.md §3, "Metrics"); higher is better.
    """
    _check_labels(labels, recon.shape[0] if isinstance(recon, torch.Tensor) else -1)
    pred = classifier.predict(recon)  # [B]
    return (pred == labels.to(pred.device)).to(torch.float32)


def gaussian_fit(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[F]`` and unbiased covariance ``[F, F]`` (float64) of ``features [N, F]``, N ≥ 2."""
    f = (
        features.detach().cpu().numpy()
        if isinstance(features, torch.Tensor)
        else np.asarray(features)
    )
    f = f.astype(np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"`features` must be [N, F] with N ≥ 2; got {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (eigenvalues clipped at 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Squared Fréchet (2-Wasserstein) distance between ``N(mu1, s1)`` and ``N(mu2, s2)``.

    ``d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})`` (Dowson & Landau 1982;
    the FID of Heusel et al. 2017). ``tr (Σ₁Σ₂)^{1/2}`` is computed as the sum
    of square roots of the eigenvalues of the symmetric PSD matrix
    ``Σ₁^{1/2} Σ₂ Σ₁^{1/2}``, which has the same spectrum as ``Σ₁Σ₂``: no
    complex parts or failures on singular covariances (where
    ``scipy.linalg.sqrtm`` needs an ε-offset). Means ``[F]``, covariances
    ``[F, F]``, float64; a tiny negative result from rounding is clipped to 0.

    >>> import numpy as np
    >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
    4.0
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    f = mu1.shape[0] if mu1.ndim == 1 else -1
    if mu1.shape != (f,) or mu2.shape != (f,) or s1.shape != (f, f) or s2.shape != (f, f):
        raise ValueError(
            "means must be [F] and covariances [F, F] of one F; got "
            f"{mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}"
        )
    r1 = _psd_sqrt(s1)
    m = r1 @ s2 @ r1  # [F, F], symmetric PSD, spectrum of Σ₁Σ₂
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum()
    d2 = float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
    return max(d2, 0.0)


@torch.no_grad()
def classifier_fid(
    classifier: Classifier, real_images: torch.Tensor, fake_images: torch.Tensor
) -> float:
    """Fréchet distance between Gaussian fits of the classifier's features of real and fake images.

    ``real_images [N, C, H, W]`` and ``fake_images [M, C, H, W]`` in [0, 1],
    ``N, M ≥ 2`` (and ≫ 128, the feature dimension, for a stable estimate: the
    value is biased upwards for small sets, so compare only at equal sizes).
    Lower is better; 0 for identical sets.
    """
    mu1, s1 = gaussian_fit(classifier.features(real_images))
    mu2, s2 = gaussian_fit(classifier.features(fake_images))
    return frechet_distance(mu1, s1, mu2, s2)

"""adversary: perturbation makers for learned communication links.

An adversary in transit adds a bounded perturbation ``δ`` to the latent ``z``
that the transmitter (an autoencoder's encoder) sends; the receiver decodes
``z + δ`` (docs/design.md §1-3; paper §3.1). Everything here works on any
differentiable callable ``forward(delta) -> output`` and plain tensors: the
package imports neither ``semcom`` nor ``channels``.

* :func:`pgd` — latent PGD, untargeted (paper Eq. 4) or targeted (Eq. 5),
  L2 or L∞ (Eq. 6), with restarts, momentum and EOT, returning a
  :class:`PGDResult`;
* :func:`universal_perturbation` — one input-agnostic ``δ_u`` for all
  latents, returning a :class:`UniversalResult`;
* :func:`blackbox_pgd` — query-only PGD on SPSA/NES gradient estimates (the
  paper's Assumption 2), returning a :class:`BlackBoxResult`;
* :func:`gaussian_jamming` — the equal-budget random baseline;
* :func:`make_target` and :data:`TARGETS` — target images for Eq. 5;
* :data:`DISTANCES`, :func:`get_distance` — per-sample distances ``D``;
* :func:`project`, :func:`perturbation_norm`, :data:`NORMS` — budgets;
  :func:`psr_to_eps`, :func:`psr_db` — budgets as power ratios in dB;
  :func:`to_sphere` — a perturbation at exactly its (power) budget.
"""

from adversary.blackbox import ESTIMATORS, BlackBoxResult, blackbox_pgd
from adversary.budget import NORMS, perturbation_norm, project, psr_db, psr_to_eps, to_sphere
from adversary.distances import DISTANCES, get_distance, register_distance
from adversary.jamming import gaussian_jamming
from adversary.latent_pgd import PGDResult, pgd
from adversary.targets import TARGETS, make_target, register_target
from adversary.universal import UniversalResult, universal_perturbation

__all__ = [
    "DISTANCES",
    "ESTIMATORS",
    "NORMS",
    "TARGETS",
    "BlackBoxResult",
    "PGDResult",
    "UniversalResult",
    "blackbox_pgd",
    "gaussian_jamming",
    "get_distance",
    "make_target",
    "perturbation_norm",
    "pgd",
    "project",
    "psr_db",
    "psr_to_eps",
    "register_distance",
    "register_target",
    "to_sphere",
    "universal_perturbation",
]

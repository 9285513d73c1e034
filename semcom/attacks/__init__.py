"""Attacks on the link: one file per attack kind, each its typed settings and its behaviour.

:mod:`.base` holds the registry (:func:`~.base.register_attack`, :func:`~.base.attack_kinds`),
the settings every attack shares and :class:`~.base.Perturbation`; :mod:`.pgd`,
:mod:`.blackbox`, :mod:`.universal` and :mod:`.gaussian` are the built-in kinds
(docs/design.md §3, §8); :mod:`.threats` places an attack on a link under a budget
axis, and :mod:`.break_power` searches each image's least breaking budget.
Built-in attacks are imported on first lookup.
"""

"""Attacks on the link: one file per attack kind, each its typed settings and its behaviour.

:mod:`.base` holds the registry (:func:`register_attack`, :func:`attack_kinds`),
the settings every attack shares and :class:`~.base.Perturbation`; :mod:`.pgd`,
:mod:`.blackbox`, :mod:`.universal` and :mod:`.gaussian` are the built-in kinds
(docs/design.md §3). Built-in attacks are imported on first lookup.
"""

"""Every registry of semcom components checks a registering class the same way
(semcom.registry.check_registration): a bad name, a class of another kind and a name
taken by another class are refused; the same class registering again is not."""

from __future__ import annotations

import pytest

from semcom.attacks.base import ATTACKS, AttackSettings, attack_kinds, register_attack
from semcom.data import DATASETS, register_dataset
from semcom.data.embedded import EmbeddedMNIST
from semcom.defenses import defense_kinds
from semcom.defenses.base import DEFENSES, Defense, register_defense
from semcom.models.variants import VARIANTS, Variant, register_variant


def _variant(name):
    return register_variant(name, stochastic=False, description="test")


REGISTRIES = {  # name -> (decorator factory, registry, a class it takes, a taken name)
    "attack": (register_attack, ATTACKS, AttackSettings, "pgd"),
    "defence": (register_defense, DEFENSES, Defense, "smoothing"),
    "variant": (_variant, VARIANTS, Variant, "vae-kld"),
    "data set": (register_dataset, DATASETS, EmbeddedMNIST, "mnist"),
}


@pytest.mark.parametrize("what", sorted(REGISTRIES))
def test_registration_refuses_bad_names_wrong_classes_and_taken_names(what):
    decorator, registry, base, taken = REGISTRIES[what]
    attack_kinds(), defense_kinds()  # the built-ins, which register on first use
    assert taken in registry
    fresh = type("Fresh", (base,), {"__module__": __name__})
    before = dict(registry)
    for bad in ("", " padded ", 3):
        with pytest.raises(ValueError, match="non-empty name without surrounding spaces"):
            decorator(bad)(fresh)
    with pytest.raises(TypeError, match="must decorate"):
        decorator("test-other-kind")(int)
    with pytest.raises(ValueError, match="already registered to"):
        decorator(taken)(fresh)
    assert registry == before  # nothing was registered by a refused call
    try:
        assert decorator("test-fresh")(fresh) is fresh
        assert decorator("test-fresh")(fresh) is fresh  # the same class again (a module imported twice)
    finally:
        registry.pop("test-fresh", None)

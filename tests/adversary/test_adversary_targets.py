"""Targets of the targeted attack (paper Eq. 5) and their registry."""

import pytest
import torch

from adversary import TARGETS, make_target, register_target


def _clean(batch=3):
    return torch.rand(batch, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def _decoder():
    linear = torch.nn.Linear(4, 64)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in linear.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return torch.nn.Sequential(linear, torch.nn.Sigmoid(), torch.nn.Unflatten(1, (1, 8, 8)))


def test_registry_holds_the_paper_targets_with_descriptions():
    assert {"black", "white", "inverted", "prior"} <= set(TARGETS)
    assert all(maker.__doc__ for maker in TARGETS.values())


def test_constant_and_inverted_targets():
    clean = _clean()
    before = clean.clone()
    assert torch.equal(make_target("black", clean), torch.zeros_like(clean))
    assert torch.equal(make_target("white", clean), torch.ones_like(clean))
    assert torch.equal(make_target("inverted", clean), 1 - clean)
    assert torch.equal(clean, before)


def test_inverted_target_carries_no_gradient():
    clean = _clean().requires_grad_(True)
    assert not make_target("inverted", clean).requires_grad


def test_prior_target_decodes_a_seeded_prior_sample():
    decoder, clean = _decoder(), _clean()

    def make(seed):
        gen = torch.Generator().manual_seed(seed)
        return make_target("prior", clean, decode=decoder, latent_dim=4, generator=gen)

    target = make(1)
    u = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(target, decoder(u))
    assert torch.equal(make(1), target)
    assert not torch.equal(make(2), target)
    assert not target.requires_grad
    assert all(p.grad is None for p in decoder.parameters())


def test_prior_target_says_what_is_missing():
    with pytest.raises(ValueError, match=r"'prior' target needs `decode` and `latent_dim`"):
        make_target("prior", _clean())
    with pytest.raises(ValueError, match=r"needs `latent_dim`"):
        make_target("prior", _clean(), decode=_decoder())


def test_prior_target_with_a_wrong_decoder_shape_is_refused():
    with pytest.raises(ValueError, match=r"must have the shape of `clean` \[3, 1, 8, 8\]"):
        make_target("prior", _clean(), decode=lambda u: u, latent_dim=4)


def test_unknown_targets_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"`target` must be one of 'black', 'inverted', 'prior', "):
        make_target("grey", _clean())
    with pytest.raises(ValueError, match=r"'class:3' is not available.*valid targets: 'black'"):
        make_target("class:3", _clean())
    with pytest.raises(ValueError, match=r"'black' takes no argument; got 'black:1'"):
        make_target("black:1", _clean())


def test_a_target_with_an_argument_gets_it():
    name = "test-adversary-level"
    try:

        @register_target(name, takes_argument=True)
        def level(clean, *, argument, **_):
            """Constant images at a given level."""
            return torch.full_like(clean, float(argument))

        assert torch.equal(make_target(f"{name}:0.25", _clean()), torch.full((3, 1, 8, 8), 0.25))
        with pytest.raises(ValueError, match=r"needs an argument"):
            make_target(name, _clean())
        with pytest.raises(ValueError, match=r"valid targets: .*'test-adversary-level':<arg>"):
            make_target("nope:1", _clean())
    finally:
        TARGETS.pop(name, None)
    with pytest.raises(ValueError, match="already registered"):
        register_target("black")(lambda clean, **_: clean)
    with pytest.raises(ValueError, match="without ':'"):
        register_target("class:1")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": 3}, TypeError, "`target` must be a string"),
        ({"clean": [1.0]}, TypeError, "`clean` must be a torch.Tensor"),
        ({"latent_dim": 0}, ValueError, "`latent_dim` must be ≥ 1; got 0"),
        ({"latent_dim": 2.0}, TypeError, "`latent_dim` must be an int"),
        ({"decode": 1}, TypeError, "`decode` must be callable"),
        ({"generator": 1}, TypeError, "`generator` must be a torch.Generator"),
    ],
)
def test_bad_target_parameters_raise_naming_them(kwargs, error, match):
    args = {"name": "black", "clean": _clean()} | kwargs
    with pytest.raises(error, match=match):
        make_target(args.pop("name"), args.pop("clean"), **args)

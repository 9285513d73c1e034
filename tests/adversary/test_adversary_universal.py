"""Universal perturbation: one δ_u for every latent, trained on one split, tested on another."""

import dataclasses

import pytest
import torch
from test_adversary_pgd import LATENT, _clean, _decoder, _latents

from adversary import (
    UniversalResult,
    gaussian_jamming,
    get_distance,
    make_target,
    perturbation_norm,
    universal_perturbation,
)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def decoder():
    return _decoder()


@pytest.fixture(scope="module")
def splits(decoder):
    """Disjoint train and test latents (different seeds) with their clean outputs."""
    train, test = _latents(batch=64, seed=10), _latents(batch=64, seed=11)
    return train, _clean(decoder, train), test, _clean(decoder, test)


def _universal(decoder, latents, references, **kwargs):
    kwargs = {"eps": 1.0, "epochs": 3, "batch_size": 16, "generator": _gen(0)} | kwargs
    return universal_perturbation(decoder, latents, references=references, **kwargs)


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("eps", [0.0, 0.3, 2.0])
def test_one_shared_delta_within_the_budget(decoder, splits, norm, eps):
    train, clean, test, _ = splits
    result = _universal(decoder, train, clean, eps=eps, norm=norm, alpha=None if eps else 1.0)
    assert isinstance(result, UniversalResult)
    assert result.delta.shape == (LATENT,) and not result.delta.requires_grad
    assert perturbation_norm(result.delta[None], norm).item() <= eps + 1e-6
    if eps == 0:
        assert torch.equal(result.delta, torch.zeros(LATENT))
    with torch.no_grad():  # the same δ_u on every latent of any batch, by broadcasting
        batched = decoder(test + result.delta)
        one_by_one = torch.cat([decoder(z[None] + result.delta) for z in test[:3]])
    torch.testing.assert_close(batched[:3], one_by_one)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.distance = 0.0


@pytest.mark.parametrize("eps", [0.5, 1.0])
def test_beats_gaussian_jamming_on_unseen_latents(decoder, splits, eps):
    train, train_clean, test, test_clean = splits
    delta = _universal(decoder, train, train_clean, eps=eps).delta
    mse = get_distance("mse")
    with torch.no_grad():
        universal = mse(decoder(test + delta), test_clean).mean()
        jammed = torch.stack(
            [
                mse(decoder(test + gaussian_jamming(test, eps, generator=_gen(s))), test_clean)
                for s in range(5)
            ]
        ).mean()
    assert universal > 2 * jammed, (universal, jammed)


def test_targeted_with_one_shared_target_darkens_unseen_outputs(decoder, splits):
    train, train_clean, test, test_clean = splits
    black = make_target("black", train_clean[:1])  # batch size 1: the same target for all
    result = _universal(decoder, train, black, targeted=True)
    assert result.distance == min(result.history) < result.history[0]
    with torch.no_grad():
        darker = decoder(test + result.delta).mean()
        jammed = decoder(test + gaussian_jamming(test, 1.0, generator=_gen(0))).mean()
    assert darker < min(test_clean.mean(), jammed) - 0.003, (darker, test_clean.mean(), jammed)


def test_history_forward_calls_and_kept_delta(decoder, splits):
    train, clean, _, _ = splits
    calls = []

    def forward_batch(z):
        calls.append(z.shape)
        return decoder(z)

    result = _universal(
        forward_batch, train[:50], clean[:50], epochs=2, batch_size=16, steps_per_batch=2
    )
    batches = 4  # ⌈50/16⌉, the last one of 2 latents
    assert result.steps == 2 * batches * 2
    assert result.forward_calls == len(calls) == result.steps + 3 * batches
    assert {s[0] for s in calls} == {16, 2} and all(s[1:] == (LATENT,) for s in calls)
    assert len(result.history) == 3 and abs(result.history[0]) < 1e-12, "D = 0 at δ_u = 0"
    assert result.distance == max(result.history)
    with torch.no_grad():
        mean = get_distance("mse")(decoder(train[:50] + result.delta), clean[:50]).mean()
    assert mean.item() == pytest.approx(result.distance, rel=1e-5)


def test_seeded_no_global_state_inputs_kept_and_model_untouched(splits):
    model = _decoder(extra=(torch.nn.Dropout(0.0),)).train()
    train, clean, _, _ = splits
    marker = torch.full_like(model[0].weight, 3.0)
    model[0].weight.grad = marker.clone()
    copies = train.clone(), clean.clone()
    state = torch.get_rng_state()
    first = _universal(model, train, clean, generator=_gen(4))
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first.delta, _universal(model, train, clean, generator=_gen(4)).delta)
    assert not torch.equal(first.delta, _universal(model, train, clean, generator=_gen(5)).delta)
    assert torch.equal(train, copies[0]) and torch.equal(clean, copies[1])
    assert model.training and torch.equal(model[0].weight.grad, marker)
    assert all(p.grad is None for n, p in model.named_parameters() if n != "0.weight")


def test_runs_under_no_grad(decoder, splits):
    train, clean, _, _ = splits
    outside = _universal(decoder, train, clean, epochs=1)
    with torch.no_grad():
        inside = _universal(decoder, train, clean, epochs=1)
    assert torch.equal(inside.delta, outside.delta)


def test_non_additive_forward_gets_clean_latents_and_the_shared_delta(decoder, splits):
    """``additive=False`` (e.g. a jammer over the air): the same δ_u as adding it oneself."""
    train, clean, _, _ = splits
    seen = []

    def over_the_air(z, delta):
        seen.append(delta)
        return decoder(z + delta)

    added = _universal(decoder, train, clean, epochs=1)
    apart = _universal(over_the_air, train, clean, epochs=1, additive=False)
    torch.testing.assert_close(apart.delta, added.delta)
    assert all(d.shape[1:] == (LATENT,) and bool((d == d[:1]).all()) for d in seen)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"eps": torch.ones(64)}, TypeError, r"`eps` must be a number \(one budget for δ_u\)"),
        ({"eps": -1.0}, ValueError, r"`eps` must be ≥ 0 and finite; got -1.0"),
        ({"alpha": -0.1}, ValueError, r"`alpha` must be ≥ 0 and finite"),
        ({"epochs": 0}, ValueError, r"`epochs` must be ≥ 1; got 0"),
        ({"batch_size": 2.5}, TypeError, r"`batch_size` must be an int"),
        ({"steps_per_batch": 0}, ValueError, r"`steps_per_batch` must be ≥ 1"),
        ({"norm": "l1"}, ValueError, r"`norm` must be one of 'l2', 'linf'; got 'l1'"),
        ({"targeted": "yes"}, TypeError, r"`targeted` must be a bool"),
        ({"additive": 1}, TypeError, r"`additive` must be a bool"),
        ({"generator": 1}, TypeError, r"`generator` must be a torch.Generator"),
        ({"references": torch.zeros(3, 1, 28, 28)}, ValueError, r"`references` must have batch"),
        ({"latents": torch.zeros(64, dtype=torch.long)}, TypeError, r"`latents` must have a float"),
        ({"latents": torch.zeros(64)}, ValueError, r"`latents` must have shape \[N, d\]"),
        ({"forward_batch": "decoder"}, TypeError, r"`forward_batch` must be callable"),
        (
            {"forward_batch": lambda z: _decoder()(z.detach())},
            ValueError,
            r"`forward_batch` must be differentiable",
        ),
    ],
)
def test_bad_parameters_raise_naming_them(decoder, splits, kwargs, error, match):
    train, clean, _, _ = splits
    args = {"forward_batch": decoder, "latents": train, "references": clean, "eps": 1.0} | kwargs
    with pytest.raises(error, match=match):
        universal_perturbation(args.pop("forward_batch"), args.pop("latents"), **args)

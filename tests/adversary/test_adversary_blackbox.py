"""Black-box (query-only) latent PGD: no backward, budgets, queries, and a real attack."""

import dataclasses

import pytest
import torch
from test_adversary_pgd import LATENT, _clean, _decoder, _latents

from adversary import (
    ESTIMATORS,
    BlackBoxResult,
    blackbox_pgd,
    gaussian_jamming,
    get_distance,
    make_target,
    perturbation_norm,
    pgd,
)

PER_SAMPLE_EPS = torch.tensor([0.0, 0.1, 0.5, 1.0, 2.0, 3.0])


def _gen(seed):
    return torch.Generator().manual_seed(seed)


class _NoGradients(torch.autograd.Function):
    """Identity whose backward raises: a receiver that answers queries but hides gradients."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("the receiver's gradients are not available (Assumption 2)")


class _QueryOnly(torch.nn.Module):
    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder
        self.grad_enabled = []

    def forward(self, x):
        self.grad_enabled.append(torch.is_grad_enabled())
        return _NoGradients.apply(self.decoder(x))


@pytest.fixture(scope="module")
def decoder():
    return _decoder()


def _jamming_mse(decoder, z, clean, eps):
    mse = get_distance("mse")
    with torch.no_grad():
        return torch.stack(
            [mse(decoder(z + gaussian_jamming(z, eps, generator=_gen(s))), clean) for s in range(5)]
        ).mean(0)


def test_the_attack_never_calls_backward_and_still_works(decoder):
    receiver = _QueryOnly(decoder)
    z = _latents(batch=8)
    clean = _clean(decoder, z)
    with pytest.raises(RuntimeError, match="gradients are not available"):
        pgd(lambda d: receiver(z + d), z, eps=1.0, reference=clean)  # white-box needs them
    receiver.grad_enabled.clear()
    result = blackbox_pgd(lambda d: receiver(z + d), z, eps=1.0, reference=clean, generator=_gen(0))
    assert receiver.grad_enabled and not any(receiver.grad_enabled), "queries under no_grad"
    assert (result.distance > _jamming_mse(decoder, z, clean, 1.0)).all()


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("eps", [0.5, 2.0])
def test_untargeted_beats_gaussian_jamming_at_equal_budget(decoder, estimator, eps):
    z = _latents(batch=8)
    clean = _clean(decoder, z)
    result = blackbox_pgd(
        lambda d: decoder(z + d),
        z,
        eps=eps,
        reference=clean,
        estimator=estimator,
        generator=_gen(1),
    )
    with torch.no_grad():
        attacked = get_distance("mse")(decoder(z + result.delta), clean)
    torch.testing.assert_close(result.distance, attacked)
    jammed = _jamming_mse(decoder, z, clean, eps)
    assert (attacked > jammed).all(), (attacked, jammed)
    assert attacked.mean() > 3 * jammed.mean(), (attacked.mean(), jammed.mean())


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_sample_stays_within_its_budget(decoder, norm, targeted, estimator):
    z = _latents()
    clean = _clean(decoder, z)
    reference = make_target("black", clean) if targeted else clean
    for alpha in (None, 4.0):
        result = blackbox_pgd(
            lambda d: decoder(z + d),
            z,
            eps=PER_SAMPLE_EPS,
            reference=reference,
            targeted=targeted,
            norm=norm,
            alpha=alpha,
            estimator=estimator,
            steps=4,
            samples=2,
            generator=_gen(2),
        )
        assert result.delta.shape == z.shape
        assert (perturbation_norm(result.delta, norm) <= PER_SAMPLE_EPS + 1e-6).all()
        assert torch.equal(result.delta[0], torch.zeros(LATENT))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_the_estimate_points_along_the_true_gradient(decoder, estimator):
    """Targeted (∇D ≠ 0 at δ = 0), one small step: δ₁ ∥ −ĝ, close to −∇D with many pairs."""
    z = _latents()
    reference = make_target("black", _clean(decoder, z))
    mse = get_distance("mse")
    delta = torch.zeros_like(z, requires_grad=True)
    (g,) = torch.autograd.grad(mse(decoder(z + delta), reference).sum(), delta)
    result = blackbox_pgd(
        lambda d: decoder(z + d),
        z,
        eps=0.05,
        reference=reference,
        targeted=True,
        steps=1,
        estimator=estimator,
        samples=256,
        generator=_gen(3),
    )
    cosine = torch.nn.functional.cosine_similarity(result.delta, -g, dim=1)
    assert (cosine > 0.9).all(), cosine


def test_queries_count_probes_and_evaluations_and_the_best_iterate_is_kept(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    mse = get_distance("mse")
    seen = []

    def query(delta):
        out = decoder(z + delta)
        seen.append(mse(out, clean))
        return out

    steps, samples = 6, 3
    result = blackbox_pgd(
        query, z, eps=1.0, reference=clean, steps=steps, samples=samples, generator=_gen(0)
    )
    assert isinstance(result, BlackBoxResult) and result.steps == steps
    assert result.queries == len(seen) == steps * (2 * samples) + (steps + 1)
    evaluations = torch.stack(seen[:: 2 * samples + 1])  # δ₀, then the iterate after each step
    assert len(evaluations) == steps + 1
    torch.testing.assert_close(result.distance, evaluations.max(0).values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.queries = 0


@pytest.mark.parametrize("budget", [1, 6, 7, 20, 36, 10_000])
def test_the_query_budget_is_respected(decoder, budget):
    z = _latents()
    clean = _clean(decoder, z)
    calls = []

    def query(delta):
        calls.append(delta.shape[0])
        return decoder(z + delta)

    result = blackbox_pgd(
        query,
        z,
        eps=1.0,
        reference=clean,
        steps=5,
        samples=3,
        query_budget=budget,
        generator=_gen(0),
    )
    per_step = 2 * 3 + 1
    assert result.steps == min(5, (budget - 1) // per_step)
    assert result.queries == len(calls) == 1 + result.steps * per_step <= budget
    assert set(calls) == {6}, "each call queries every sample once"


def test_seeded_and_no_global_state(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    state = torch.get_rng_state()
    first = blackbox_pgd(lambda d: decoder(z + d), z, eps=1.0, reference=clean, generator=_gen(7))
    assert torch.equal(torch.get_rng_state(), state)
    again = blackbox_pgd(lambda d: decoder(z + d), z, eps=1.0, reference=clean, generator=_gen(7))
    other = blackbox_pgd(lambda d: decoder(z + d), z, eps=1.0, reference=clean, generator=_gen(8))
    assert torch.equal(first.delta, again.delta) and not torch.equal(first.delta, other.delta)


def test_targeted_black_darkens_the_output(decoder):
    z = _latents(batch=8)
    clean = _clean(decoder, z)
    black = make_target("black", clean)
    result = blackbox_pgd(
        lambda d: decoder(z + d), z, eps=1.0, reference=black, targeted=True, generator=_gen(0)
    )
    with torch.no_grad():
        assert (decoder(z + result.delta).flatten(1).mean(1) < clean.flatten(1).mean(1)).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"estimator": "fd"}, ValueError, r"`estimator` must be one of 'nes', 'spsa'; got 'fd'"),
        ({"samples": 0}, ValueError, r"`samples` must be ≥ 1; got 0"),
        ({"query_budget": 0}, ValueError, r"`query_budget` must be ≥ 1; got 0"),
        ({"query_budget": 10.0}, TypeError, r"`query_budget` must be an int"),
        ({"sigma": -1.0}, ValueError, r"`sigma` must be ≥ 0"),
        ({"steps": 0}, ValueError, r"`steps` must be ≥ 1; got 0"),
        ({"eps": -1.0}, ValueError, r"`eps` must be ≥ 0 and finite"),
        ({"norm": "l1"}, ValueError, r"`norm` must be one of 'l2', 'linf'"),
        ({"targeted": 0}, TypeError, r"`targeted` must be a bool"),
        ({"generator": 3}, TypeError, r"`generator` must be a torch.Generator"),
        ({"reference": torch.zeros(2, 1, 28, 28)}, ValueError, r"`reference` must have batch"),
        ({"query": None}, TypeError, r"`query` must be callable"),
        ({"query": lambda d: [d]}, TypeError, r"`query` must return a torch.Tensor"),
    ],
)
def test_bad_parameters_raise_naming_them(decoder, kwargs, error, match):
    z = _latents()
    args = {"query": lambda d: decoder(z + d), "eps": 1.0, "reference": _clean(decoder, z)}
    args |= kwargs
    with pytest.raises(error, match=match):
        blackbox_pgd(args.pop("query"), z, **args)

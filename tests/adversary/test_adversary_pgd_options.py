"""PGD options: restarts, MI-FGSM momentum, expectation over transformation, call counts."""

import pytest
import torch
from test_adversary_pgd import LATENT, _clean, _decoder, _latents

from adversary import PGDResult, get_distance, make_target, perturbation_norm, pgd, project


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def decoder():
    return _decoder()


def _recording(decoder, z, reference, dist):
    """``forward`` that records each ``δ`` it sees and the distance it produces."""
    deltas, seen = [], []

    def forward(delta):
        out = decoder(z + delta)
        deltas.append(delta.detach().clone())
        seen.append(dist(out, reference).detach())
        return out

    return forward, deltas, seen


def test_defaults_count_t_plus_one_forward_calls(decoder):
    z = _latents()
    result = pgd(lambda d: decoder(z + d), z, eps=1.0, reference=_clean(decoder, z), steps=4)
    assert result.forward_calls == 5
    assert PGDResult(result.delta, result.distance, 4).forward_calls == 0, "field has a default"


@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_restarts_keep_the_best_iterate_over_all_runs(decoder, targeted, norm):
    z = _latents()
    clean = _clean(decoder, z)
    reference = make_target("inverted", clean) if targeted else clean
    dist = get_distance("mse")
    forward, _, seen = _recording(decoder, z, reference, dist)
    kwargs = {"eps": 0.8, "reference": reference, "targeted": targeted, "norm": norm, "steps": 3}
    result = pgd(forward, z, restarts=4, generator=_gen(0), **kwargs)
    assert result.forward_calls == len(seen) == 4 * (3 + 1)
    seen = torch.stack(seen)  # [R·(T + 1), B]
    extreme = seen.min(0).values if targeted else seen.max(0).values
    torch.testing.assert_close(result.distance, extreme)
    assert (perturbation_norm(result.delta, norm) <= 0.8 + 1e-6).all()
    # the first run is the plain attack from δ₀ = 0, so restarts can only help
    single = pgd(lambda d: decoder(z + d), z, **kwargs)
    assert (
        (result.distance <= single.distance) if targeted else (result.distance >= single.distance)
    ).all()


def test_restarts_after_the_first_start_at_random_and_are_seeded(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    dist = get_distance("mse")
    forward, deltas, _ = _recording(decoder, z, clean, dist)
    state = torch.get_rng_state()
    first = pgd(forward, z, eps=0.5, reference=clean, steps=2, restarts=3, generator=_gen(5))
    assert torch.equal(torch.get_rng_state(), state), "the generator, not the global RNG"
    starts = deltas[0::3]  # δ₀ of each run
    assert torch.equal(starts[0], torch.zeros_like(z))
    for start in starts[1:]:
        assert (start.abs().sum(1) > 0).all() and (perturbation_norm(start) <= 0.5 + 1e-6).all()
    assert not torch.equal(starts[1], starts[2])
    again = pgd(
        lambda d: decoder(z + d),
        z,
        eps=0.5,
        reference=clean,
        steps=2,
        restarts=3,
        generator=_gen(5),
    )
    assert torch.equal(first.delta, again.delta)


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("targeted", [False, True])
def test_momentum_steps_follow_the_mi_fgsm_velocity(decoder, norm, targeted):
    """Replay the recorded iterates with an independent MI-FGSM oracle."""
    z = _latents()
    clean = _clean(decoder, z)
    reference = make_target("black", clean) if targeted else clean
    dist = get_distance("mse")
    forward, deltas, _ = _recording(decoder, z, reference, dist)
    mu, alpha, eps, steps = 0.7, 0.15, 0.6, 5
    pgd(
        forward,
        z,
        eps=eps,
        reference=reference,
        targeted=targeted,
        norm=norm,
        steps=steps,
        alpha=alpha,
        momentum=mu,
    )
    assert len(deltas) == steps + 1
    sign = -1.0 if targeted else 1.0
    velocity = torch.zeros_like(z)
    for t in range(steps):
        delta = deltas[t].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(dist(decoder(z + delta), reference).sum(), delta)
        zero = (g == 0).all(dim=1, keepdim=True)
        g = torch.where(zero, torch.ones_like(g), g)
        velocity = mu * velocity + g / g.abs().sum(dim=1, keepdim=True)
        if norm == "l2":
            direction = velocity / velocity.norm(dim=1, keepdim=True)
        else:
            direction = velocity.sign()
        expected = project(deltas[t] + sign * alpha * direction, eps, norm)
        torch.testing.assert_close(deltas[t + 1], expected, rtol=1e-5, atol=1e-6)


def test_zero_momentum_is_plain_pgd_and_momentum_stays_in_budget(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    kwargs = {"eps": torch.tensor([0.0, 0.1, 0.5, 1.0, 2.0, 3.0]), "reference": clean}
    plain = pgd(lambda d: decoder(z + d), z, **kwargs)
    assert torch.equal(pgd(lambda d: decoder(z + d), z, momentum=0.0, **kwargs).delta, plain.delta)
    with_momentum = pgd(lambda d: decoder(z + d), z, momentum=1.0, **kwargs)
    assert (perturbation_norm(with_momentum.delta) <= kwargs["eps"] + 1e-6).all()
    assert torch.equal(with_momentum.delta[0], torch.zeros(LATENT))
    assert (with_momentum.distance[1:] > 0).all()


def test_eot_averages_the_distance_over_draws(decoder):
    """A random channel: each forward call draws fresh noise from its own generator."""
    z = _latents()
    clean = _clean(decoder, z)
    dist = get_distance("mse")
    channel = _gen(3)
    seen = []

    def noisy(delta):
        noise = 0.3 * torch.randn(z.shape, generator=channel)
        out = decoder(z + delta + noise)
        seen.append(dist(out, clean).detach())
        return out

    result = pgd(noisy, z, eps=1.0, reference=clean, steps=3, eot=4, restarts=2, generator=_gen(0))
    assert result.forward_calls == len(seen) == 2 * (3 + 1) * 4
    per_iterate = torch.stack(seen).view(2 * 4, 4, -1).mean(1)  # [R·(T + 1), B]
    torch.testing.assert_close(result.distance, per_iterate.max(0).values)


def test_eot_on_a_deterministic_forward_matches_one_draw(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    once = pgd(lambda d: decoder(z + d), z, eps=1.0, reference=clean)
    four = pgd(lambda d: decoder(z + d), z, eps=1.0, reference=clean, eot=4)
    torch.testing.assert_close(four.delta, once.delta, rtol=1e-5, atol=1e-6)
    assert four.forward_calls == 4 * once.forward_calls


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"restarts": 0}, ValueError, r"`restarts` must be ≥ 1; got 0"),
        ({"restarts": 1.0}, TypeError, r"`restarts` must be an int"),
        ({"eot": 0}, ValueError, r"`eot` must be ≥ 1; got 0"),
        ({"eot": True}, TypeError, r"`eot` must be an int"),
        ({"momentum": -0.5}, ValueError, r"`momentum` must be ≥ 0 and finite; got -0.5"),
        ({"momentum": float("nan")}, ValueError, r"`momentum` must be ≥ 0 and finite"),
        ({"momentum": "0.9"}, TypeError, r"`momentum` must be a number"),
    ],
)
def test_bad_options_raise_naming_them(decoder, kwargs, error, match):
    z = _latents()
    with pytest.raises(error, match=match):
        pgd(lambda d: decoder(z + d), z, eps=1.0, reference=_clean(decoder, z), **kwargs)

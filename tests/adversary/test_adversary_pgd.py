"""Latent PGD (paper Eq. 4-6) on a small fixed random nonlinear decoder."""

import dataclasses

import pytest
import torch

from adversary import (
    PGDResult,
    gaussian_jamming,
    get_distance,
    make_target,
    perturbation_norm,
    pgd,
)

LATENT = 10


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _decoder(extra=()):
    """``[B, 10] -> [B, 1, 28, 28]`` in (0, 1), seeded, with an anisotropic latent sensitivity.

    Like a trained decoder, a few latent directions matter much more than the
    others, so a chosen direction beats a random one by a wide margin.
    """
    gen = _gen(0)
    first, last = torch.nn.Linear(LATENT, 64), torch.nn.Linear(64, 784)
    with torch.no_grad():
        first.weight.copy_(
            torch.randn(64, LATENT, generator=gen) * torch.logspace(0.5, -1.5, LATENT)
        )
        first.bias.copy_(0.1 * torch.randn(64, generator=gen))
        last.weight.copy_(0.3 * torch.randn(784, 64, generator=gen))
        last.bias.copy_(0.5 * torch.randn(784, generator=gen) - 1.0)
    layers = [
        first,
        *extra,
        torch.nn.Tanh(),
        last,
        torch.nn.Sigmoid(),
        torch.nn.Unflatten(1, (1, 28, 28)),
    ]
    return torch.nn.Sequential(*layers).eval()


@pytest.fixture(scope="module")
def decoder():
    return _decoder()


def _latents(batch=6, seed=1):
    return torch.randn(batch, LATENT, generator=_gen(seed))


def _clean(decoder, z):
    with torch.no_grad():
        return decoder(z)


PER_SAMPLE_EPS = torch.tensor([0.0, 0.1, 0.5, 1.0, 2.0, 3.0])


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("random_start", [False, True])
@pytest.mark.parametrize("eps", [0.3, PER_SAMPLE_EPS])
def test_every_sample_stays_within_its_budget(decoder, norm, targeted, random_start, eps):
    z = _latents()
    reference = make_target("black", _clean(decoder, z)) if targeted else _clean(decoder, z)
    bound = torch.as_tensor(eps).expand(6)
    for alpha in (None, 4.0):  # the default step and one far beyond the ball
        result = pgd(
            lambda d: decoder(z + d),
            z,
            eps=eps,
            reference=reference,
            targeted=targeted,
            norm=norm,
            alpha=alpha,
            random_start=random_start,
            generator=_gen(2),
        )
        assert result.delta.shape == z.shape
        assert (perturbation_norm(result.delta, norm) <= bound + 1e-6).all()


def test_the_attack_does_not_modify_its_inputs(decoder):
    z, eps = _latents(), PER_SAMPLE_EPS.clone()
    clean = _clean(decoder, z)
    copies = (z.clone(), clean.clone(), eps.clone())
    for targeted in (False, True):
        pgd(
            lambda d: decoder(z + d),
            z,
            eps=eps,
            reference=clean,
            targeted=targeted,
            random_start=True,
            generator=_gen(0),
        )
    for original, copy in zip((z, clean, eps), copies, strict=True):
        assert torch.equal(original, copy)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_zero_budget_gives_exactly_zero(decoder, norm):
    z = _latents()
    clean = _clean(decoder, z)
    result = pgd(lambda d: decoder(z + d), z, eps=0.0, reference=clean, norm=norm)
    assert torch.equal(result.delta, torch.zeros_like(z))
    # with a step size and a random start that would move it, among non-zero budgets
    result = pgd(
        lambda d: decoder(z + d),
        z,
        eps=PER_SAMPLE_EPS,
        reference=make_target("black", clean),
        targeted=True,
        alpha=1.0,
        norm=norm,
        random_start=True,
        generator=_gen(0),
    )
    assert torch.equal(result.delta[0], torch.zeros(LATENT))
    assert (result.delta[1:].abs().sum(1) > 0).all()


@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0, 2.0])
def test_untargeted_pgd_beats_gaussian_jamming_at_equal_budget(decoder, eps):
    z = _latents(batch=8)
    clean = _clean(decoder, z)
    mse = get_distance("mse")
    result = pgd(lambda d: decoder(z + d), z, eps=eps, reference=clean)
    with torch.no_grad():
        attacked = mse(decoder(z + result.delta), clean)
        jammed = torch.stack(
            [
                mse(decoder(z + gaussian_jamming(z, eps, generator=_gen(seed))), clean)
                for seed in range(5)
            ]
        ).mean(0)
    assert (attacked > jammed).all(), (attacked, jammed)
    assert attacked.mean() > 3 * jammed.mean(), (attacked.mean(), jammed.mean())


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_targeted_black_darkens_the_output_as_eps_grows(decoder, norm):
    z = _latents(batch=8)
    black = make_target("black", _clean(decoder, z))
    means = []
    for eps in [0.0, 0.25, 0.5, 1.0, 2.0]:
        delta = pgd(
            lambda d: decoder(z + d), z, eps=eps, reference=black, targeted=True, norm=norm
        ).delta
        with torch.no_grad():
            means.append(decoder(z + delta).mean().item())
    assert all(b < a for a, b in zip(means, means[1:], strict=False)), means


@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("distance", ["mse", "ssim"])
def test_the_best_iterate_is_kept(decoder, targeted, distance):
    z = _latents()
    clean = _clean(decoder, z)
    reference = make_target("inverted", clean) if targeted else clean
    dist = get_distance(distance)
    seen = []

    def forward(delta):
        out = decoder(z + delta)
        seen.append(dist(out, reference).detach())
        return out

    result = pgd(
        forward,
        z,
        eps=1.0,
        reference=reference,
        targeted=targeted,
        distance=distance,
        steps=7,
        alpha=0.6,
    )
    assert len(seen) == 8, "T steps evaluate T + 1 iterates"
    seen = torch.stack(seen)  # [T + 1, B]
    extreme = seen.min(0).values if targeted else seen.max(0).values
    torch.testing.assert_close(result.distance, extreme)
    with torch.no_grad():
        torch.testing.assert_close(result.distance, dist(decoder(z + result.delta), reference))
    at_zero = seen[0]
    assert ((result.distance <= at_zero) if targeted else (result.distance >= at_zero)).all()
    assert (result.distance != at_zero).all(), "the attack moved every sample"


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("targeted", [False, True])
def test_per_sample_budgets_batch_like_separate_calls(decoder, norm, targeted):
    z = _latents(batch=4)

    def run(zs, eps):
        clean = _clean(decoder, zs)
        reference = make_target("black", clean) if targeted else clean
        return pgd(
            lambda d: decoder(zs + d),
            zs,
            eps=eps,
            reference=reference,
            targeted=targeted,
            norm=norm,
        )

    batched = run(z, torch.tensor([0.5, 0.5, 2.0, 2.0]))
    first, second = run(z[:2], 0.5), run(z[2:], 2.0)
    torch.testing.assert_close(
        batched.delta, torch.cat([first.delta, second.delta]), atol=1e-5, rtol=1e-4
    )
    torch.testing.assert_close(
        batched.distance, torch.cat([first.distance, second.distance]), atol=1e-6, rtol=1e-4
    )


def test_default_step_is_2_5_eps_over_steps_per_sample(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    kwargs = {"reference": clean, "steps": 5}
    default = pgd(lambda d: decoder(z + d), z, eps=PER_SAMPLE_EPS, **kwargs)
    explicit = pgd(
        lambda d: decoder(z + d), z, eps=PER_SAMPLE_EPS, alpha=2.5 * PER_SAMPLE_EPS / 5, **kwargs
    )
    assert torch.equal(default.delta, explicit.delta)
    assert default.steps == 5


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_model_parameters_get_no_grad_and_mode_is_kept(mode):
    model = _decoder(extra=(torch.nn.BatchNorm1d(64), torch.nn.Dropout(0.1)))
    model.train(mode == "train")
    modes = [m.training for m in model.modules()]
    marker = torch.full_like(model[0].weight, 7.0)
    model[0].weight.grad = marker.clone()  # a pre-existing gradient must survive untouched
    z = _latents()
    clean = _clean(model, z)
    pgd(lambda d: model(z + d), z, eps=1.0, reference=clean)
    pgd(lambda d: model(z + d), z, eps=1.0, reference=make_target("black", clean), targeted=True)
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(model[0].weight.grad, marker)
    assert all(p.grad is None for name, p in model.named_parameters() if name != "0.weight")


def test_pgd_runs_under_no_grad_and_returns_detached_results(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    outside = pgd(lambda d: decoder(z + d), z, eps=1.0, reference=clean)
    with torch.no_grad():
        inside = pgd(lambda d: decoder(z + d), z, eps=1.0, reference=clean)
    assert torch.equal(inside.delta, outside.delta)
    assert not outside.delta.requires_grad and not outside.distance.requires_grad
    assert isinstance(outside, PGDResult) and outside.distance.shape == (6,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outside.steps = 3


def test_random_start_is_uniform_in_the_ball_and_seeded(decoder):
    z = _latents(batch=2000, seed=3)
    clean = _clean(decoder, z)

    def start(norm, seed):  # α = 0 and one step: the kept iterate is δ₀
        return pgd(
            lambda d: decoder(z + d),
            z,
            eps=2.0,
            reference=clean,
            steps=1,
            alpha=0.0,
            norm=norm,
            random_start=True,
            generator=_gen(seed),
        ).delta

    state = torch.get_rng_state()
    l2 = start("l2", 0)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(start("l2", 0), l2) and not torch.equal(start("l2", 1), l2)
    radius = perturbation_norm(l2) / 2.0
    assert radius.max() <= 1 + 1e-6
    assert abs((radius**LATENT).mean().item() - 0.5) < 0.03  # P(‖δ‖ ≤ rε) = r^d
    linf = start("linf", 0)
    assert linf.abs().max() <= 2.0
    assert abs(linf.mean().item()) < 0.03 and abs(linf.var().item() - 4 / 3) < 0.05


def test_shape_argument_and_callable_distance(decoder):
    z = _latents()
    clean = _clean(decoder, z)

    def l1(output, reference):
        return (output - reference).abs().flatten(1).mean(1)

    like = pgd(lambda d: decoder(z + d), z, eps=1.0, reference=clean, distance=l1)
    shaped = pgd(
        lambda d: decoder(z + d), torch.Size([6, LATENT]), eps=1.0, reference=clean, distance=l1
    )
    assert torch.equal(like.delta, shaped.delta)
    assert (like.distance > 0).all()


def test_forward_without_gradient_is_refused(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    with pytest.raises(ValueError, match="`forward` must be differentiable in delta"):
        pgd(lambda d: decoder(z + d.detach()), z, eps=1.0, reference=clean)


def _bad_distance(output, reference):
    return (output - reference).mean()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"steps": 0}, ValueError, r"`steps` must be ≥ 1; got 0"),
        ({"steps": 2.0}, TypeError, r"`steps` must be an int"),
        ({"eps": -1.0}, ValueError, r"`eps` must be ≥ 0 and finite; got -1.0"),
        ({"eps": torch.ones(5)}, ValueError, r"`eps` must be a number or have shape \[B\] = \[6\]"),
        ({"alpha": -0.1}, ValueError, r"`alpha` must be ≥ 0"),
        ({"norm": "l1"}, ValueError, r"`norm` must be one of 'l2', 'linf'; got 'l1'"),
        ({"distance": "lp"}, ValueError, r"`distance` must be one of .*'mse', 'ssim'.*; got 'lp'"),
        ({"distance": _bad_distance}, ValueError, r"`distance` must return one value per sample"),
        ({"targeted": 1}, TypeError, r"`targeted` must be a bool"),
        ({"random_start": "no"}, TypeError, r"`random_start` must be a bool"),
        ({"generator": 0}, TypeError, r"`generator` must be a torch.Generator"),
        ({"reference": [0.0]}, TypeError, r"`reference` must be a torch.Tensor"),
        (
            {"reference": torch.zeros(3, 1, 28, 28)},
            ValueError,
            r"`reference` must have batch size B = 6",
        ),
        ({"delta_shape_or_like": "z"}, TypeError, r"`delta_shape_or_like` must be a tensor or"),
        ({"forward": None}, TypeError, r"`forward` must be callable"),
    ],
)
def test_bad_parameters_raise_naming_them(decoder, kwargs, error, match):
    z = _latents()
    args = {
        "forward": lambda d: decoder(z + d),
        "delta_shape_or_like": z,
        "eps": 1.0,
        "reference": _clean(decoder, z),
    } | kwargs
    forward, like = args.pop("forward"), args.pop("delta_shape_or_like")
    with pytest.raises(error, match=match):
        pgd(forward, like, **args)


def test_a_vanishing_gradient_at_the_start_does_not_stall_the_attack(decoder):
    z = _latents()
    clean = _clean(decoder, z)
    delta = torch.zeros_like(z, requires_grad=True)
    (g,) = torch.autograd.grad(get_distance("mse")(decoder(z + delta), clean).sum(), delta)
    assert torch.equal(g, torch.zeros_like(z)), "D(G'(z), G'(z)) is a minimum: ∇ = 0 at δ = 0"
    state = torch.get_rng_state()
    first = pgd(lambda d: decoder(z + d), z, eps=0.5, reference=clean)
    again = pgd(lambda d: decoder(z + d), z, eps=0.5, reference=clean)
    assert (first.distance > 0).all()
    assert torch.equal(first.delta, again.delta), "deterministic without a generator"
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cpu_generator_drives_draws_for_a_cuda_latent():
    model = _decoder().cuda()
    z = _latents().cuda()
    clean = _clean(model, z)
    kwargs = {"eps": 1.0, "reference": clean, "random_start": True}
    on_gpu = pgd(lambda d: model(z + d), z, generator=_gen(0), **kwargs)
    assert on_gpu.delta.device == z.device
    assert torch.equal(
        on_gpu.delta, pgd(lambda d: model(z + d), z, generator=_gen(0), **kwargs).delta
    )
    jam = gaussian_jamming(z, 1.0, generator=_gen(0))
    torch.testing.assert_close(jam.cpu(), gaussian_jamming(z.cpu(), 1.0, generator=_gen(0)))

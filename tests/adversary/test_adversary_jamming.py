"""Equal-budget Gaussian jamming: exact norm, seeded, no global state."""

import pytest
import torch

from adversary import gaussian_jamming, perturbation_norm


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("eps", [0.3, 2.0, torch.tensor([0.0, 0.1, 1.0, 5.0])])
def test_jamming_spends_exactly_the_budget(norm, eps):
    z = torch.randn(4, 10, generator=_gen(9))
    delta = gaussian_jamming(z, eps, norm=norm, generator=_gen())
    assert delta.shape == z.shape and delta.dtype == z.dtype
    torch.testing.assert_close(
        perturbation_norm(delta, norm), torch.as_tensor(eps).expand(4), rtol=1e-6, atol=0
    )


def test_zero_budget_gives_exact_zeros():
    delta = gaussian_jamming(torch.Size([3, 8]), torch.tensor([0.0, 1.0, 0.0]), generator=_gen())
    assert torch.equal(delta[0], torch.zeros(8)) and torch.equal(delta[2], torch.zeros(8))


def test_jamming_is_seeded_reproducible_and_leaves_global_state_alone():
    z = torch.zeros(5, 10)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = gaussian_jamming(z, 1.0, generator=_gen(7))
    b = gaussian_jamming(z, 1.0, generator=_gen(7))
    c = gaussian_jamming(z, 1.0, generator=_gen(8))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(z, torch.zeros(5, 10))


def test_jamming_directions_are_isotropic():
    delta = gaussian_jamming(torch.Size([4000, 10]), 1.0, generator=_gen())
    # uniform on the sphere: mean ≈ 0, second moment ≈ I/d
    assert delta.mean(0).abs().max() < 0.02
    torch.testing.assert_close(delta.T @ delta / 4000, torch.eye(10) / 10, atol=0.01, rtol=0)


def test_jamming_takes_a_shape_or_a_float64_tensor():
    assert gaussian_jamming(torch.Size([2, 3]), 1.0, generator=_gen()).dtype == torch.float32
    assert gaussian_jamming(torch.zeros(2, 3, dtype=torch.float64), 1.0).dtype == torch.float64


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((torch.zeros(2, 3), -1.0), {}, ValueError, r"`eps` must be ≥ 0 and finite; got -1.0"),
        (
            (torch.zeros(2, 3), 1.0),
            {"norm": "l1"},
            ValueError,
            r"`norm` must be one of 'l2', 'linf'",
        ),
        (
            (torch.zeros(2, 3), 1.0),
            {"generator": 0},
            TypeError,
            r"`generator` must be a torch.Generator",
        ),
        (("z", 1.0), {}, TypeError, r"`like_or_shape` must be a tensor or a torch.Size"),
        ((torch.zeros(3), 1.0), {}, ValueError, r"`like_or_shape` must have shape \[B, d\]"),
        ((torch.zeros(2, 3, dtype=torch.int64), 1.0), {}, TypeError, r"floating-point"),
    ],
)
def test_bad_jamming_parameters_raise_naming_them(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        gaussian_jamming(*args, **kwargs)

"""Budgets: the per-sample norm and the projection onto the ε-ball."""

import numpy as np
import pytest
import torch

from adversary import NORMS, perturbation_norm, project


def _delta(batch=6, dim=10, seed=0, scale=3.0):
    return scale * torch.randn(batch, dim, generator=torch.Generator().manual_seed(seed))


def test_perturbation_norm_matches_numpy():
    delta = _delta(dim=7).reshape(6, 7, 1)
    flat = delta.reshape(6, -1).numpy()
    np.testing.assert_allclose(
        perturbation_norm(delta, "l2"), np.linalg.norm(flat, axis=1), rtol=1e-6
    )
    np.testing.assert_allclose(
        perturbation_norm(delta, "linf"), np.abs(flat).max(axis=1), rtol=1e-6
    )


@pytest.mark.parametrize("eps", [0.0, 0.5, 2.0, 40.0, [0.0, 0.1, 1.0, 3.0, 10.0, 100.0]])
def test_l2_projection_lands_in_the_ball_and_keeps_the_direction(eps):
    delta = _delta()
    e = torch.as_tensor(eps, dtype=delta.dtype).expand(6)
    out = project(delta, torch.as_tensor(eps) if isinstance(eps, list) else eps)
    n_in, n_out = perturbation_norm(delta), perturbation_norm(out)
    assert (n_out <= e).all()
    # outside the ball: on the sphere; inside: untouched; direction always kept
    torch.testing.assert_close(n_out, torch.minimum(n_in, e), rtol=1e-5, atol=0)
    cos = torch.nn.functional.cosine_similarity(out, delta, dim=1)
    assert torch.allclose(cos[e > 0], torch.ones(int((e > 0).sum())), atol=1e-5)
    assert (out[e == 0] == 0).all()


def test_l2_projection_leaves_points_inside_unchanged_and_is_idempotent():
    delta = _delta(scale=0.01)
    assert torch.equal(project(delta, 1.0), delta)
    once = project(_delta(), 1.0)
    torch.testing.assert_close(project(once, 1.0), once)


def test_l2_projection_is_safe_at_zero():
    out = project(torch.zeros(3, 5), torch.tensor([0.0, 1.0, 2.0]))
    assert torch.equal(out, torch.zeros(3, 5))


def test_linf_projection_clips_per_sample():
    delta = _delta()
    eps = torch.tensor([0.0, 0.1, 0.5, 1.0, 2.0, 50.0])
    out = project(delta, eps, norm="linf")
    assert (perturbation_norm(out, "linf") <= eps).all()
    expected = torch.stack([delta[b].clamp(-eps[b], eps[b]) for b in range(6)])
    assert torch.equal(out, expected)


@pytest.mark.parametrize("norm", NORMS)
def test_projection_does_not_modify_its_input(norm):
    delta = _delta()
    before = delta.clone()
    project(delta, 0.5, norm=norm)
    assert torch.equal(delta, before)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"eps": -1.0}, ValueError, r"`eps` must be ≥ 0 and finite; got -1.0"),
        ({"eps": float("nan")}, ValueError, r"`eps` must be ≥ 0"),
        ({"eps": torch.tensor([1.0, -0.5, 1.0, 1.0, 1.0, 1.0])}, ValueError, r"`eps` must be ≥ 0"),
        ({"eps": torch.ones(5)}, ValueError, r"`eps` must be a number or have shape \[B\] = \[6\]"),
        ({"eps": "1"}, TypeError, r"`eps` must be a number"),
        ({"eps": True}, TypeError, r"`eps` must be a number"),
        ({"eps": 1.0, "norm": "l1"}, ValueError, r"`norm` must be one of 'l2', 'linf'; got 'l1'"),
        ({"eps": 1.0, "norm": 2}, TypeError, r"`norm` must be a string"),
    ],
)
def test_bad_budget_parameters_raise_naming_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        project(_delta(), **kwargs)


def test_delta_must_be_a_batched_float_tensor():
    with pytest.raises(TypeError, match="`delta` must be a torch.Tensor"):
        project([[1.0, 2.0]], 1.0)
    with pytest.raises(TypeError, match="floating-point"):
        project(torch.ones(2, 3, dtype=torch.int64), 1.0)
    with pytest.raises(ValueError, match=r"`delta` must have shape \[B, d\]"):
        project(torch.ones(3), 1.0)

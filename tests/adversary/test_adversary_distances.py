"""Per-sample distances against independent oracles, and their registry."""

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from adversary import DISTANCES, get_distance, register_distance


def _images(seed, batch=4):
    return torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_registry_holds_mse_and_ssim():
    assert {"mse", "ssim"} <= set(DISTANCES)
    for name, fn in DISTANCES.items():
        assert get_distance(name) is fn
        assert fn.__doc__, name


@pytest.mark.parametrize("name", ["mse", "ssim"])
def test_distance_is_per_sample_zero_on_identity_and_differentiable(name):
    fn = get_distance(name)
    x, y = _images(0), _images(1)
    torch.testing.assert_close(fn(x, x), torch.zeros(4), atol=1e-6, rtol=0)
    out = x.clone().requires_grad_(True)
    d = fn(out, y)
    assert d.shape == (4,)
    assert (d > 0).all()
    (g,) = torch.autograd.grad(d.sum(), out)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    # per sample: sample b's distance only depends on sample b
    torch.testing.assert_close(fn(x[2:3], y[2:3]), d[2:3].detach())


def test_mse_matches_numpy():
    x, y = _images(0), _images(1)
    expected = ((x.numpy() - y.numpy()) ** 2).reshape(4, -1).mean(axis=1)
    np.testing.assert_allclose(get_distance("mse")(x, y), expected, rtol=1e-6)


def test_ssim_is_one_minus_torchmetrics_ssim_sample_by_sample():
    x, y = _images(0), (_images(0) + 0.2 * _images(1)).clamp(0, 1)
    d = get_distance("ssim")(x, y)
    for b in range(4):
        ssim_b = structural_similarity_index_measure(x[b : b + 1], y[b : b + 1], data_range=1.0)
        torch.testing.assert_close(d[b], 1 - ssim_b)


@pytest.mark.parametrize("name", ["mse", "ssim"])
def test_a_single_reference_broadcasts_over_the_batch(name):
    fn = get_distance(name)
    x, ref = _images(0), _images(1, batch=1)
    torch.testing.assert_close(fn(x, ref), fn(x, ref.expand_as(x)))


def test_distances_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"`reference` must have the shape of `output`"):
        get_distance("mse")(torch.ones(4, 10), torch.ones(4, 9))
    with pytest.raises(ValueError, match=r"needs images \[B, C, H, W\]"):
        get_distance("ssim")(torch.ones(4, 10), torch.ones(4, 10))
    with pytest.raises(TypeError, match="`output` must be a torch.Tensor"):
        get_distance("mse")(np.ones((4, 10)), torch.ones(4, 10))


def test_get_distance_passes_callables_through_and_lists_valid_names():
    def custom(output, reference):
        return (output - reference).abs().flatten(1).sum(1)

    assert get_distance(custom) is custom
    with pytest.raises(ValueError, match=r"`distance` must be one of .*'mse', 'ssim'.*; got 'l1'"):
        get_distance("l1")
    with pytest.raises(TypeError, match="`distance` must be a name or a callable"):
        get_distance(3)


def test_register_distance_adds_and_refuses_duplicates():
    name = "test-adversary-l1"
    try:

        @register_distance(name)
        def l1(output, reference):
            """Mean absolute error."""
            return (output - reference).abs().flatten(1).mean(1)

        assert get_distance(name) is l1
        with pytest.raises(ValueError, match="already registered"):
            register_distance(name)(l1)
    finally:
        DISTANCES.pop(name, None)
    with pytest.raises(ValueError, match="already registered"):
        register_distance("mse")(lambda o, r: o)
    with pytest.raises(TypeError, match="`name` must be a string"):
        register_distance(1)

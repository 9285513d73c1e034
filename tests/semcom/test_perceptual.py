"""LPIPS from local weights only: unavailable without the ImageNet trunk, a distance with it.

No test touches the network: every download entry point and socket connection
raises. "Weights present" is simulated with a random-init torchvision AlexNet
backbone saved at the exact hub-cache file name (the real ImageNet weights are
not needed to check the plumbing; the test checks they are the ones used).
"""

from __future__ import annotations

import doctest

import pytest
import torch

import semcom.metrics.perceptual
from semcom.metrics.perceptual import (
    LpipsMetric,
    LpipsUnavailable,
    alexnet_weights_path,
    load_lpips,
    lpips_distance,
    lpips_linear_weights_path,
    lpips_status,
    lpips_unavailable_reason,
)

pytestmark = pytest.mark.usefixtures("no_network")  # fixtures in tests/semcom/conftest.py


@pytest.fixture(scope="module")
def metric(fake_hub) -> LpipsMetric:
    return load_lpips("cpu", hub_dir=fake_hub[0])


def test_the_expected_hub_file_name(tmp_path, use_hub):
    use_hub(tmp_path)
    assert alexnet_weights_path() == tmp_path / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert lpips_linear_weights_path().is_file()  # shipped inside the pip package


def test_unavailable_with_an_empty_hub_and_nothing_downloaded(tmp_path, use_hub):
    use_hub(tmp_path)
    status = lpips_status()
    assert not status.available
    assert str(tmp_path / "checkpoints" / "alexnet-owt-7be5be79.pth") in status.reason
    with pytest.raises(LpipsUnavailable, match="alexnet-owt-7be5be79.pth") as info:
        load_lpips("cpu")
    assert isinstance(info.value, RuntimeError)
    assert str(info.value) == status.reason
    assert list(tmp_path.iterdir()) == []  # no download started, no partial file


def test_a_file_that_is_not_alexnet_is_reported_not_loaded(tmp_path):
    path = alexnet_weights_path(tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"features.0.weight": torch.zeros(3)}, path)
    assert lpips_status(tmp_path).available  # status only checks presence
    with pytest.raises(LpipsUnavailable, match="AlexNet"):
        load_lpips("cpu", hub_dir=tmp_path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(LpipsUnavailable, match="cannot read"):
        load_lpips("cpu", hub_dir=tmp_path)


def test_available_when_the_weights_are_in_the_default_hub(fake_hub, use_hub):
    use_hub(fake_hub[0])
    assert lpips_status() == semcom.metrics.perceptual.LpipsStatus(True, None)


def test_the_trunk_is_the_hub_file_not_random_weights(metric, fake_hub):
    _, features = fake_hub
    params = dict(metric.net.net.named_parameters())  # lpips names: slice<k>.<feature index>.<p>
    assert len(params) == len(features) == 10
    for name, value in params.items():
        assert torch.equal(value, features["features." + name.split(".", 1)[1]])
    assert not any(p.requires_grad for p in metric.parameters())
    assert not metric.train().training  # a metric stays in eval mode


def _digits(batch: int, channels: int = 1, side: int = 28) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(batch, channels, side, side, generator=g)


@pytest.mark.parametrize(("channels", "side"), [(1, 28), (3, 64)])
def test_lpips_is_zero_for_identical_images_and_per_sample(metric, channels, side):
    x = _digits(3, channels, side)
    d = metric(x, x.clone())
    assert d.shape == (3,)
    assert torch.allclose(d, torch.zeros(3), atol=1e-7)


def test_lpips_grows_with_noise(metric, mnist):
    x = mnist[1].images[:8]
    g = torch.Generator().manual_seed(2)
    noise = torch.randn(x.shape, generator=g)
    means = [metric(x, (x + s * noise).clamp(0, 1)).mean().item() for s in (0.05, 0.15, 0.4)]
    assert 0 < means[0] < means[1] < means[2]


def test_lpips_gradient_flows_to_pred_and_inputs_are_kept(metric, mnist):
    x = mnist[1].images[:4]
    pred = (x + 0.2 * torch.rand_like(x)).clamp(0, 1).requires_grad_(True)
    before = pred.detach().clone()
    d = metric(pred, x)
    d.sum().backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert torch.equal(pred.detach(), before)


def test_one_target_serves_the_whole_batch(metric):
    x = _digits(3)
    assert torch.allclose(metric(x, x[:1]), metric(x, x[:1].expand(3, -1, -1, -1)))


@pytest.mark.parametrize(
    ("pred", "target"),
    [
        (torch.rand(2, 1, 28, 28), torch.rand(3, 1, 28, 28)),
        (torch.rand(2, 2, 28, 28), torch.rand(2, 2, 28, 28)),
        (torch.rand(1, 28, 28), torch.rand(1, 28, 28)),
    ],
)
def test_bad_shapes_are_rejected(metric, pred, target):
    with pytest.raises(ValueError, match="must"):
        metric(pred, target)


def test_min_size_is_checked(metric):
    with pytest.raises(ValueError, match="min_size"):
        LpipsMetric(metric.net, min_size=16)


def test_unavailable_reason_loads_to_decide(tmp_path, fake_hub, use_hub):
    use_hub(tmp_path)
    assert lpips_unavailable_reason() == lpips_status().reason  # nothing there
    path = alexnet_weights_path(tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"features.0.weight": torch.zeros(3)}, path)
    assert lpips_status().available
    assert "does not hold" in lpips_unavailable_reason()  # present but not AlexNet: caught early
    use_hub(fake_hub[0])
    assert lpips_unavailable_reason() is None


def test_lpips_is_a_pgd_distance(fake_hub, use_hub):
    """Registered in adversary's registry; latent PGD maximising it moves the output away."""
    from adversary import get_distance, pgd

    use_hub(fake_hub[0])
    assert get_distance("lpips") is lpips_distance
    decoder = torch.nn.Sequential(torch.nn.Linear(4, 28 * 28), torch.nn.Sigmoid(),
                                  torch.nn.Unflatten(1, (1, 28, 28)))
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        clean = decoder(z)
    result = pgd(lambda d: decoder(z + d), z, eps=2.0, reference=clean, distance="lpips", steps=3)
    assert torch.linalg.vector_norm(result.delta, dim=1).max() <= 2.0 + 1e-5
    assert (result.distance > 0).all()
    with torch.no_grad():
        again = lpips_distance(decoder(z + result.delta), clean)
    assert torch.allclose(result.distance, again, atol=1e-5)


def test_docstring_examples_run():
    assert doctest.testmod(semcom.metrics.perceptual).failed == 0

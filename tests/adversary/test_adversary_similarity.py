"""The matrix-product SSIM against its oracle, torchmetrics."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.functional.image import structural_similarity_index_measure as torchmetrics_ssim

from adversary.similarity import structural_similarity


def _pair(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=gen, dtype=torch.float64)
    b = (a + 0.2 * torch.randn(shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    return a, b


@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (3, 3, 64, 64), (4, 1, 6, 9), (2, 2, 17, 40)])
def test_values_match_torchmetrics(shape):
    a, b = _pair(shape, seed=sum(shape))
    expected = torchmetrics_ssim(a, b, data_range=1.0, reduction="none")
    torch.testing.assert_close(structural_similarity(a, b), expected, rtol=0, atol=1e-10)
    same = structural_similarity(a.float(), a.float())
    torch.testing.assert_close(same, torch.ones(shape[0]), rtol=0, atol=1e-5)


def test_gradient_matches_torchmetrics():
    a, b = _pair((3, 1, 28, 28), seed=1)
    ours = a.clone().requires_grad_(True)
    theirs = a.clone().requires_grad_(True)
    (g_ours,) = torch.autograd.grad(structural_similarity(ours, b).sum(), ours)
    (g_theirs,) = torch.autograd.grad(torchmetrics_ssim(theirs, b, data_range=1.0, reduction="none").sum(), theirs)
    torch.testing.assert_close(g_ours, g_theirs, rtol=1e-7, atol=1e-10)


def test_reference_of_batch_one_broadcasts():
    a, b = _pair((4, 1, 28, 28), seed=2)
    one = structural_similarity(a, b[:1])
    each = torch.stack([structural_similarity(a[i : i + 1], b[:1])[0] for i in range(4)])
    torch.testing.assert_close(one, each)


@pytest.mark.parametrize("shape", [(2, 1, 5, 28), (2, 28, 28)])
def test_rejects_images_it_cannot_filter(shape):
    x = torch.rand(shape)
    with pytest.raises(ValueError, match="SSIM needs"):
        structural_similarity(x, x)

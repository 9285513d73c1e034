"""The attack-time copy of a link: same outputs, BatchNorm folded, original untouched."""

from __future__ import annotations

import torch
from torch import nn

from semcom.link import Link
from semcom.speed import inference_copy


def test_inference_copy_folds_batchnorm_and_keeps_outputs(tiny_vae):
    from channels import make_channel

    link = Link(tiny_vae.model, make_channel("awgn"), scale=2**0.5 * tiny_vae.sigma_z, snr_db=10.0)
    link.train()
    fast = inference_copy(link)

    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert not any(p.requires_grad for p in fast.parameters()) and not fast.training
    assert any(isinstance(m, nn.BatchNorm2d) for m in link.modules()), "the original keeps its BatchNorm"
    assert link.training and all(p.requires_grad for p in link.parameters())

    link.eval()
    z = torch.randn(16, tiny_vae.model.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = link.deliver(z, generator=torch.Generator().manual_seed(1))
        got = fast.deliver(z, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    x = expected[:4]
    torch.testing.assert_close(fast.transmitter(x), link.transmitter(x), rtol=1e-4, atol=1e-5)

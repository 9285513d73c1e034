"""The speed routes (semcom/speed.py): frozen transposed convolutions by route (same outputs and input
gradients as torch's, only where eligible), and the one switch that gives sweeps and hardening alike a route."""

import pytest
import torch
from torch import nn

from semcom.models.nets import ConvDecoder
from semcom.speed import (
    NARROW_OUTPUT,
    SPEED_ENV,
    FastConvTranspose2d,
    fast_for,
    fast_transposed_convs,
    inference_copy,
    speed_setting,
    store_key_part,
    training_view,
)


def _frozen(*args, **kwargs):
    torch.manual_seed(0)
    return nn.ConvTranspose2d(*args, **kwargs).eval().requires_grad_(False)


@pytest.mark.parametrize(
    ("conv", "shape", "route"),
    [
        (_frozen(64, 128, 4, 1, 0), (5, 64, 1, 1), "gemm"),  # 1 × 1 input: a pure GEMM
        (_frozen(64, 128, 4, 1, 0, bias=False), (5, 64, 1, 1), "gemm"),
        (_frozen(32, 1, 4, 2, 1), (5, 32, 14, 14), "gemm-overlap-add"),  # the decoder's image layer
        (_frozen(16, 3, 3, 2, 1, bias=False), (4, 16, 5, 7), "gemm-overlap-add"),  # odd kernel, no bias, non-square
        (_frozen(8, 2, 5, 3, 2), (3, 8, 6, 4), "gemm-overlap-add"),  # stride 3
        (_frozen(8, 2, 1, 2, 0), (2, 8, 3, 3), "gemm-overlap-add"),  # kernel smaller than the stride
        (_frozen(8, 3, 2, 3, 1), (2, 8, 4, 5), "gemm-overlap-add"),
        (_frozen(128, 64, 3, 2, 1), (5, 128, 4, 4), "conv-then-bias"),  # the decoder's middle layers
        (_frozen(64, 32, 4, 2, 1), (5, 64, 7, 7), "conv-then-bias"),
        (_frozen(8, 6, 3, 1, 1, bias=False), (2, 8, 5, 6), "conv-then-bias"),
        (_frozen(8, 6, 1, 1, 0), (2, 8, 3, 3), "conv-then-bias"),
        (_frozen(8, 6, 3, 2, 1), (2, 8, 1, 1), "conv-then-bias"),  # 1 × 1 but padded
    ],
)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("weights_channels_last", [False, True])
def test_outputs_and_input_gradients_match_torch(conv, shape, route, channels_last, weights_channels_last):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    gemm = FastConvTranspose2d(conv)
    if weights_channels_last:
        gemm = gemm.to(memory_format=torch.channels_last)
    assert gemm.route(x) == route
    x_ref, x_gemm = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y_ref, y_gemm = conv(x_ref), gemm(x_gemm)
    torch.testing.assert_close(y_gemm, y_ref, atol=1e-5, rtol=1e-5)
    upstream = torch.randn_like(y_ref)
    (g_ref,) = torch.autograd.grad(y_ref, x_ref, upstream)
    (g_gemm,) = torch.autograd.grad(y_gemm, x_gemm, upstream)
    torch.testing.assert_close(g_gemm, g_ref, atol=1e-5, rtol=1e-5)


def test_routes_by_shape_and_device():
    narrow, wide = FastConvTranspose2d(_frozen(8, NARROW_OUTPUT, 4, 2, 1)), FastConvTranspose2d(_frozen(8, 5, 4, 2, 1))
    assert narrow.route(torch.zeros(2, 8, 7, 7)) == "gemm-overlap-add"
    assert wide.route(torch.zeros(2, 8, 7, 7)) == "conv-then-bias"
    assert wide.route(torch.zeros(2, 8, 1, 1)) == "conv-then-bias"  # padded: not a plain reshape
    assert wide.route(torch.zeros(8, 7, 7)) is None  # unbatched: the original layer
    assert wide.route(torch.zeros(2, 8, 7, 7, device="meta")) is None  # not CPU: the original layer


def test_the_gemm_route_returns_a_channels_last_image():
    conv = FastConvTranspose2d(_frozen(64, 128, 4, 1, 0)).to(memory_format=torch.channels_last)
    y = conv(torch.randn(3, 64, 1, 1))
    assert y.shape == (3, 128, 4, 4) and y.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(
    "conv",
    [
        nn.ConvTranspose2d(4, 2, 3, 2, 1),  # trainable weights
        _frozen(4, 2, 3, 2, 1, output_padding=1),
        _frozen(4, 2, 3, 2, 1, dilation=2),
        _frozen(4, 2, 3, 2, 1, groups=2),
        _frozen(4, 2, (3, 5), 2, 1),
    ],
)
def test_layers_it_would_not_reproduce_are_left_alone(conv):
    seq = fast_transposed_convs(nn.Sequential(conv))
    assert seq[0] is conv
    with pytest.raises(ValueError, match="not a plain frozen transposed convolution"):
        FastConvTranspose2d(conv)


@pytest.mark.parametrize(
    ("conv", "shape"),
    [
        (_frozen(64, 16, 4, 1, 0), (4, 64, 1, 1)),
        (_frozen(32, 1, 4, 2, 1), (4, 32, 14, 14)),
        (_frozen(32, 16, 4, 2, 1), (4, 32, 7, 7)),
    ],
)
def test_bf16_autocast_computes_in_bf16_and_stays_close(conv, shape):
    x = torch.randn(shape, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = FastConvTranspose2d(conv)(x)
        y_ref = conv(x)
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), y_ref.float(), atol=5e-2, rtol=5e-2)
    (g,) = torch.autograd.grad(y.float().sum(), x)
    assert g.dtype == torch.float32 and torch.isfinite(g).all()


def test_the_attack_copy_of_the_paper_decoder_uses_it_and_the_original_does_not():
    decoder = ConvDecoder(10, 1, 28).eval()
    fast = inference_copy(decoder)
    wrapped = [m for m in fast.modules() if isinstance(m, FastConvTranspose2d)]
    assert len(wrapped) == 4
    assert not any(isinstance(m, FastConvTranspose2d) for m in decoder.modules())
    z = torch.randn(6, 10)
    torch.testing.assert_close(fast(z), decoder(z), atol=1e-5, rtol=1e-5)


def _fast(module: nn.Module) -> bool:
    return any(isinstance(m, FastConvTranspose2d) for m in module.modules())


def test_the_switch_defaults_to_todays_routes_and_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.delenv(SPEED_ENV, raising=False)
    assert speed_setting() == "sweeps" and fast_for("sweep") and not fast_for("hardening")
    assert store_key_part() == {}, "default store keys stay as they were"
    monkeypatch.setenv(SPEED_ENV, "fastest")
    with pytest.raises(ValueError, match=r"^\$SEMCOM_SPEED must be one of sweeps, all, off; got 'fastest'$"):
        inference_copy(nn.Linear(2, 2))


@pytest.mark.parametrize(("setting", "sweep", "hardening"), [("sweeps", True, False), ("all", True, True),
                                                             ("off", False, False)])
def test_each_stage_takes_the_route_the_switch_gives_it(monkeypatch, setting, sweep, hardening):
    monkeypatch.setenv(SPEED_ENV, setting)
    decoder = ConvDecoder(10, 1, 28).eval()
    copy = inference_copy(decoder)
    assert _fast(copy) == sweep and not copy.training and not any(p.requires_grad for p in copy.parameters())
    view = training_view(decoder)
    assert (view is not None) == hardening and (view is None or _fast(view))
    assert store_key_part() == ({"speed": "fast"} if hardening else {})
    z = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(copy(z), decoder(z), atol=1e-5, rtol=1e-5)


def test_a_bad_switch_is_one_line_exit_2(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from semcom.cli import main

    path = tmp_path / "s.yaml"
    path.write_text("name: s\nmodels: [{latent_dim: 4, epochs: 1}]\nadversary: {eps: [0, 1], attacks: [{kind: pgd}]}\n")
    monkeypatch.setenv(SPEED_ENV, "warp")
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == ["error: $SEMCOM_SPEED must be one of sweeps, all, off; got 'warp'"]
    assert not (tmp_path / "run").exists()


def _count_fast_calls(monkeypatch) -> list[int]:
    calls = [0]
    forward = FastConvTranspose2d.forward

    def counted(self, x):
        calls[0] += 1
        return forward(self, x)

    monkeypatch.setattr(FastConvTranspose2d, "forward", counted)
    return calls


@pytest.mark.parametrize("setting", ["sweeps", "all"])
def test_hardening_attacks_by_the_route_the_switch_gives_and_keys_say_so(tiny_vae, mnist, monkeypatch, tmp_path,
                                                                          setting):
    """By default hardening's PGD runs through the trained decoder (no fast layer is called, the numbers
    and store key are today's); under ``all`` through the fast copy, the sweep's numerics."""
    import copy
    import dataclasses

    from semcom.defenses.hardening import get_or_harden, hardening_config
    from semcom.link import build_link
    from semcom.study.scenario import ChannelConfig
    from semcom.study.store import ModelStore

    monkeypatch.setenv(SPEED_ENV, setting)
    calls = _count_fast_calls(monkeypatch)
    train, _ = mnist
    own = dataclasses.replace(tiny_vae, model=copy.deepcopy(tiny_vae.model))
    channel = ChannelConfig(kind="awgn", snr_db=[20.0])
    cfg = hardening_config("adversarial", eps=1.0, steps=2, epochs=1)
    hardened = get_or_harden(own, lambda t: build_link(t, channel, 20.0), {"l": 1}, train.images[:64], cfg,
                             ModelStore(tmp_path), progress=False)
    assert (calls[0] > 0) == (setting == "all"), calls
    assert ("speed" in hardened.meta) == (setting == "all") and hardened.meta.get("speed", "fast") == "fast"


def test_a_defence_whose_loss_takes_no_attack_still_hardens_by_default(monkeypatch):
    from semcom.defenses.base import Defense
    from semcom.defenses.hardening import HardeningConfig, _step

    class OldStyle(Defense):
        def loss(self, deliver, z, x, gen, receiver):  # the signature before the speed switch
            return (deliver(z) - x).pow(2).sum()

    monkeypatch.delenv(SPEED_ENV, raising=False)
    decoder = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(decoder.parameters(), lr=0.1)
    z, x = torch.ones(4, 3), torch.zeros(4, 2)
    before = decoder.weight.detach().clone()
    loss = _step(OldStyle(HardeningConfig()), decoder, z, x, optimizer, torch.Generator(), decoder, None)
    assert loss > 0 and not torch.equal(decoder.weight, before)


def test_journal_fingerprints_and_ray_workers_follow_the_drivers_switch(monkeypatch):
    from semcom.speed import point_key_part
    from semcom.study.executors import JobEnv, _run_task

    monkeypatch.setenv(SPEED_ENV, "sweeps")
    assert point_key_part() == {} and JobEnv("store").speed == "sweeps"
    monkeypatch.setenv(SPEED_ENV, "off")
    assert point_key_part() == {"speed": "off"}, "a resumed run under another route recomputes its points"

    class Seen:
        needs = ()

        def run(self, shared, env):
            import os

            return os.environ[SPEED_ENV]

    monkeypatch.setenv(SPEED_ENV, "sweeps")  # the worker's own environment
    threads = torch.get_num_threads()  # left as it is for the tests after this one
    assert _run_task(Seen(), JobEnv("store", speed="all"), threads, ()) == "all"

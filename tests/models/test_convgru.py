import pytest
import torch

from s2svr.models import ConvGRU, ResConvGRU


def test_zero_update_gate_keeps_the_state():
    torch.manual_seed(0)
    gru = ConvGRU(in_channels=5, num_feat=8)
    with torch.no_grad():  # z_t = sigmoid(-1e4) = 0  =>  h_t = h_{t-1}, whatever the input
        gru.conv_z.weight.zero_()
        gru.conv_z.bias.fill_(-1e4)
    state, x = torch.randn(2, 8, 6, 7), torch.randn(2, 5, 6, 7)
    assert torch.equal(gru(state, x), state)


def test_full_update_gate_forgets_the_state_through_a_closed_reset_gate():
    torch.manual_seed(0)
    gru = ConvGRU(in_channels=5, num_feat=8)
    with torch.no_grad():  # z = 1, r = 0  =>  h_t = tanh(W_q [0, x_t]): the state no longer matters
        for conv, bias in ((gru.conv_z, 1e4), (gru.conv_r, -1e4)):
            conv.weight.zero_()
            conv.bias.fill_(bias)
    x = torch.randn(2, 5, 6, 7)
    out_a, out_b = gru(torch.randn(2, 8, 6, 7), x), gru(torch.randn(2, 8, 6, 7), x)
    assert torch.allclose(out_a, out_b, atol=1e-6)
    assert out_a.abs().max() < 1  # a tanh candidate


def test_resconvgru_with_zeroed_residual_branches_is_convgru_plus_input():
    torch.manual_seed(0)
    layer = ResConvGRU(in_channels=8, num_feat=8, num_blocks=3)
    with torch.no_grad():  # every residual block becomes the identity, so F_b = id in Eq. (9)
        for block in layer.blocks:
            block.conv2.weight.zero_()
            block.conv2.bias.zero_()
    state, x = torch.randn(1, 8, 5, 5), torch.randn(1, 8, 5, 5)
    assert torch.allclose(layer(state, x), layer.gru(state, x) + x, atol=1e-6)


def test_resconvgru_residual_only_when_widths_match_or_given():
    torch.manual_seed(0)
    layer = ResConvGRU(in_channels=16, num_feat=8, num_blocks=1)
    state, x, skip = torch.randn(1, 8, 5, 5), torch.randn(1, 16, 5, 5), torch.randn(1, 8, 5, 5)
    plain = layer.blocks(layer.gru(state, x))
    assert torch.equal(layer(state, x), plain)
    assert torch.allclose(layer(state, x, residual=skip), plain + skip)



def test_carry_block_keeps_the_state_bounded_where_carry_output_accumulates_its_inputs():
    """With the GRU keeping its state (update gate shut) and F_b adding nothing, a layer that carries its output
    adds its input to the state at every frame; one that carries F_b's output keeps the state it had."""
    torch.manual_seed(0)
    x = torch.rand(1, 4, 6, 6)
    for carry, grows in (("output", True), ("block", False)):
        layer = ResConvGRU(4, 4, num_blocks=1, carry=carry)
        with torch.no_grad():
            layer.gru.conv_z.weight.zero_()
            layer.gru.conv_z.bias.fill_(-30.0)  # z = 0: h_t = h_{t-1}
            for p in layer.blocks.parameters():
                p.zero_()
            state = torch.zeros(1, 4, 6, 6)
            for _ in range(10):
                out, state = layer.step(state, x)
        assert torch.allclose(out, (10.0 if grows else 1.0) * x, atol=1e-5)
    with pytest.raises(ValueError, match="carry"):
        ResConvGRU(4, 4, 1, carry="state")


def test_carry_gru_stays_within_one_where_output_and_block_grow():
    """F_b amplifying (its blocks scaled up) and the input large: over 40 frames from zero states the states
    carried as output or as F_b's output grow without bound; F_g's own state stays within [-1, 1]."""
    torch.manual_seed(0)
    x = 3.0 * torch.randn(1, 4, 6, 6)
    peak = {}
    for carry in ("output", "block", "gru"):
        torch.manual_seed(1)
        layer = ResConvGRU(4, 4, num_blocks=1, carry=carry)
        with torch.no_grad():
            for p in layer.blocks.parameters():
                p.mul_(30.0)
            state, peak[carry] = torch.zeros(1, 4, 6, 6), 0.0
            for _ in range(40):
                out, state = layer.step(state, x)
                peak[carry] = max(peak[carry], state.abs().max().item())
    assert peak["gru"] <= 1.0 and peak["output"] > 10 and peak["block"] > 10, peak


def test_carry_output_is_in_no_key_and_carry_block_only_in_s2svrs():
    from s2svr.experiments import RestoreJob, key
    for arch in ("s2svr", "basicvsr", "single_frame"):
        job = RestoreJob("deblur_gopro", "ci", arch=arch)
        assert key(job.with_overrides(model={"carry": "output"})) == key(job)  # the keys shipped before the field
        for carry in ("block", "gru"):
            assert (key(job.with_overrides(model={"carry": carry})) != key(job)) == (arch == "s2svr")

"""`s2svr.flow.use`: how a flow net runs (zoom, padding, size cap) is one object, applied by one function."""
import pytest
import torch

from s2svr.flow.pwclite import PWCLite
from s2svr.flow.use import FlowUse, run_flow


def test_a_use_is_checked_and_caps_the_zoom_of_large_frames():
    use = FlowUse(zoom=8, pad=1)
    assert (use.zoom, use.pad, use.max_side) == (8.0, True, None) and use.zoom_for(1080, 1920) == 8.0
    capped = use.but(max_side=4096)
    assert capped.zoom_for(1080, 1920) == pytest.approx(4096 / 1920)  # lowered to fit ...
    assert FlowUse(zoom=8, max_side=10).zoom_for(1080, 1920) == 1.0  # ... never below 1
    assert capped.zoom_for(64, 64) == 8.0  # a small frame keeps its zoom
    assert capped.as_dict() == {"zoom": 8.0, "pad": True, "max_side": 4096} and FlowUse().as_dict() == {
        "zoom": 1.0, "pad": False}
    for bad in ({"zoom": 0}, {"zoom": -2.0}, {"max_side": 0}):
        with pytest.raises(ValueError):
            FlowUse(**bad)


def test_forward_is_run_flow_with_the_nets_use():
    torch.manual_seed(0)
    net = PWCLite(cost_norm=True).eval().using(zoom=2.0, pad=True)
    a, b = torch.rand(1, 3, 40, 24), torch.rand(1, 3, 40, 24)
    with torch.no_grad():
        assert torch.equal(net(a, b), run_flow(net, a, b, net.use))
        fw, bw = net(a, b, with_bw=True)
        assert torch.equal(bw, run_flow(net, a, b, FlowUse(2.0, True), with_bw=True)[1])
        # another use of the same weights: an argument, the net itself unchanged
        assert torch.equal(run_flow(net, a, b, FlowUse(4.0, True)), net(a, b, zoom=4.0))
    assert net.use == FlowUse(2.0, True) and net.arch() == {"search_range": 4, "cost_norm": True}


def test_set_flow_use_changes_how_a_restorer_runs_its_flow_net_only():
    from s2svr.models import S2SVR
    from s2svr.models.motion import set_flow_use
    from s2svr.flow.standins import ZeroFlow
    model = S2SVR(task="sr", num_feat=4, num_blocks=1, num_layers=1, flow_size=None,
                  flow_net=PWCLite().using(zoom=8.0, pad=True))
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    set_flow_use(model, max_side=512)
    assert model.flow.use == FlowUse(8.0, True, 512)  # zoom kept (None), the cap set
    set_flow_use(model, zoom=2)
    assert model.flow.use == FlowUse(2.0, True)  # the cap is what the call says: none
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    with pytest.raises(ValueError, match="--flow-zoom"):
        set_flow_use(model, zoom=0)
    with pytest.raises(ValueError, match="no PWC-Lite"):
        set_flow_use(S2SVR(task="sr", num_feat=4, num_blocks=1, num_layers=1, flow_net=ZeroFlow()), zoom=2)


def test_flow_banks_of_a_net_at_its_training_zoom_keep_their_names():
    """The bank of a restorer's frozen flow net is named by its layers and its use written as the arch held them
    before the use left it (zoom unless 1, pad when set): banks computed then are found now."""
    from s2svr.train.flow_bank import _net_settings
    net = PWCLite(cost_norm=True).using(zoom=8.0, pad=True)
    assert _net_settings(net) == {"search_range": 4, "cost_norm": True, "zoom": 8.0, "pad": True}
    assert _net_settings(PWCLite()) == {"search_range": 4, "cost_norm": False}
    assert _net_settings(net.using(max_side=512))["max_side"] == 512  # a cap changes the flows: another bank

"""Tests for s2svr.flow.pwclite: parameter count, any input size, fw/bw, work_size, gradients, checkpoints."""
import pytest
import torch

from s2svr.flow.pwclite import PWCLite
from s2svr.utils import count_parameters, seed_everything


@pytest.fixture(scope="module")
def net():
    seed_everything(0)
    return PWCLite().eval()


def frames(b, c, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g), torch.rand(b, c, h, w, generator=g)


def test_parameter_count_matches_arflow(net):
    assert count_parameters(net) == 2_236_660


def test_init_weights_runs(net):
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 12 + 5 + 6 + 7
    # PyTorch's default init draws non-zero biases: all-zero biases prove init_weights ran
    assert all(torch.count_nonzero(m.bias) == 0 for m in convs)
    # kaiming normal: std = gain / sqrt(fan_in) on a large layer
    w = net.flow_estimator.conv2[0].weight
    expected = (2.0 / (1 + 0.1 ** 2)) ** 0.5 / (128 * 9) ** 0.5
    assert abs(w.std().item() / expected - 1) < 0.05


def test_initial_flow_is_small(net):
    img1, img2 = frames(1, 3, 64, 64)
    with torch.no_grad():
        flow = net(img1, img2)
    assert flow.abs().max() < 5.0


@pytest.mark.parametrize("h,w", [(37, 53), (64, 64), (100, 130), (1, 1)])
def test_forward_returns_input_size_flow(net, h, w):
    img1, img2 = frames(2, 3, h, w)
    with torch.no_grad():
        flow = net(img1, img2)
    assert flow.shape == (2, 2, h, w) and flow.dtype == torch.float32
    assert torch.isfinite(flow).all()


def test_with_bw_returns_two_flows_and_fw_unchanged(net):
    img1, img2 = frames(2, 3, 64, 96)
    with torch.no_grad():
        flow_fw, flow_bw = net(img1, img2, with_bw=True)
        alone = net(img1, img2)
        swapped = net(img2, img1)
    assert flow_fw.shape == flow_bw.shape == (2, 2, 64, 96)
    torch.testing.assert_close(flow_fw, alone, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(flow_bw, swapped, atol=1e-5, rtol=1e-4)


def test_work_size_returns_input_size_flow(net):
    img1, img2 = frames(1, 3, 50, 70)
    with torch.no_grad():
        flow = net(img1, img2, work_size=64)
        flow_fw, flow_bw = net(img1, img2, with_bw=True, work_size=(64, 128))
    assert flow.shape == flow_fw.shape == flow_bw.shape == (1, 2, 50, 70)


def test_forward_pyramid_levels(net):
    img1, img2 = frames(1, 3, 100, 130)
    with torch.no_grad():
        out = net.forward_pyramid(img1, img2, with_bw=True)
    assert out["size"] == (128, 192)
    for key in ("flows_fw", "flows_bw"):
        shapes = [tuple(f.shape) for f in out[key]]
        assert shapes == [(1, 2, 128 // s, 192 // s) for s in (1, 2, 4, 8, 16)]
    out = net.forward_pyramid(*frames(1, 3, 64, 128))
    assert out["size"] == (64, 128) and "flows_bw" not in out


def test_gradients_reach_every_parameter():
    seed_everything(0)
    model = PWCLite()
    img1, img2 = frames(1, 3, 64, 64)
    out = model.forward_pyramid(img1, img2, with_bw=True)
    loss = sum(f.abs().mean() for f in out["flows_fw"] + out["flows_bw"])
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing


def test_grayscale_equals_repeated_rgb(net):
    y1, y2 = frames(1, 1, 40, 48)
    with torch.no_grad():
        grey = net(y1, y2)
        rgb = net(y1.repeat(1, 3, 1, 1), y2.repeat(1, 3, 1, 1))
    torch.testing.assert_close(grey, rgb)


def test_rejects_bad_inputs(net):
    with pytest.raises(ValueError):
        net(torch.rand(1, 2, 8, 8), torch.rand(1, 2, 8, 8))
    with pytest.raises(ValueError):
        net(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))


def test_load_arflow_checkpoint_roundtrip(net, tmp_path):
    ours_to_theirs = {ours: theirs for theirs, ours in PWCLite.ARFLOW_PREFIXES}
    state = {}
    for key, value in net.state_dict().items():
        for ours, theirs in ours_to_theirs.items():
            if key.startswith(ours):
                key = theirs + key[len(ours):]
                break
        state["module." + key] = value.clone()
    assert any(k.startswith("module.feature_pyramid_extractor.convs.5.1.0") for k in state)
    path = tmp_path / "pwclite_ar.pth.tar"
    torch.save({"epoch": 1, "state_dict": state}, path)
    seed_everything(1)
    other = PWCLite().eval()
    other.load_arflow_checkpoint(path)
    img1, img2 = frames(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(other(img1, img2), net(img1, img2))

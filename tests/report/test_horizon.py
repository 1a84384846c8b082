import numpy as np
import pytest
import torch

from s2svr.flow.pwclite import PWCLite
from s2svr.models import S2SVR
from s2svr.models.baselines import SingleFrameBaseline
from s2svr.report import horizon
from s2svr.train.evaluate import restore_frames


def _s2svr():
    torch.manual_seed(0)
    return S2SVR(task="deblur", num_feat=8, num_blocks=1, num_layers=2, flow_size=None, flow_net=PWCLite()).eval()


def test_pieces_restart_the_states_and_leave_a_frame_wise_network_unchanged():
    torch.manual_seed(1)
    x = torch.rand(7, 3, 16, 16)
    net = _s2svr()
    whole, pieces = restore_frames(net, x), horizon.windowed(net, x, 3)
    assert pieces.shape == whole.shape
    # pieces of 3 (3 + 3 + 1 frames): each piece is the clip's frames restored from fresh states
    assert torch.allclose(pieces[3:6], restore_frames(net, x[3:6]), atol=1e-6)
    assert torch.allclose(pieces[6:], restore_frames(net, x[6:]), atol=1e-6)
    # the first piece differs from the whole clip only by its last frame, which looks one frame ahead (radius 1)
    assert torch.allclose(pieces[:2], whole[:2], atol=1e-6) and not torch.allclose(pieces[3:], whole[3:], atol=1e-4)
    single = SingleFrameBaseline(task="deblur", in_channels=3, num_feat=8, num_blocks=2).eval()
    assert torch.allclose(horizon.windowed(single, x, 3), restore_frames(single, x), atol=1e-6)
    with pytest.raises(ValueError, match="window"):
        horizon.windowed(net, x, 0)


def test_row_splits_the_frames_past_the_first_piece():
    p = {"window": 2, "whole": [30.0, 30.0, 28.0, 27.0], "windows": [30.0, 30.0, 30.0, 30.0]}
    row = horizon.horizon_row(p)
    assert row["whole - pieces"] == pytest.approx(-1.25)
    assert row["whole - pieces, past the first piece"] == pytest.approx(-2.5)
    assert np.isnan(horizon.horizon_row({**p, "window": 4})["whole - pieces, past the first piece"])

import pytest
import torch

from s2svr.flow.standins import KnownFlow, ZeroFlow


def test_known_flow_answers_the_registered_flow_in_both_directions():
    frames = torch.rand(1, 3, 3, 8, 8)
    fw, bw = torch.randn(1, 2, 2, 8, 8), torch.randn(1, 2, 2, 8, 8)
    k = KnownFlow()
    k.set_clip(frames, fw, bw)
    f, b = k(frames[:, 1], frames[:, 2], with_bw=True)
    assert torch.equal(f[0], fw[0, 1]) and torch.equal(b[0], bw[0, 1])
    assert torch.equal(k(frames[:, 2], frames[:, 1])[0], bw[0, 1])  # 2 -> 1 is the backward flow of pair 1
    with pytest.raises(ValueError, match="not adjacent"):
        k(frames[:, 0], frames[:, 2])
    with pytest.raises(ValueError, match="not in the registered clip"):
        k(torch.rand(1, 3, 8, 8), frames[:, 0])


def test_zero_flow_is_zero():
    f, b = ZeroFlow()(torch.rand(2, 3, 5, 7), torch.rand(2, 3, 5, 7), with_bw=True)
    assert f.shape == (2, 2, 5, 7) and f.abs().sum() == 0 and b.abs().sum() == 0

"""Charbonnier loss: eps for equal tensors (eps^2 inside the root), ~L1 for large differences."""
import pytest
import torch

from s2svr.losses import CharbonnierLoss, charbonnier_loss


def test_equal_tensors_give_eps():
    x = torch.rand(2, 3, 3, 8, 8)
    assert charbonnier_loss(x, x).item() == pytest.approx(1e-6, rel=1e-4)
    assert charbonnier_loss(x, x, eps=1e-3).item() == pytest.approx(1e-3, rel=1e-4)


def test_close_to_l1_for_large_differences_and_module():
    a, b = torch.zeros(4, 4), torch.full((4, 4), 0.5)
    assert charbonnier_loss(a, b).item() == pytest.approx(0.5, rel=1e-6)
    assert torch.equal(CharbonnierLoss(eps=1e-3)(a, b), charbonnier_loss(a, b, eps=1e-3))
    assert charbonnier_loss(a, b, reduction="none").shape == (4, 4)
    with pytest.raises(ValueError):
        charbonnier_loss(a, b[:2])

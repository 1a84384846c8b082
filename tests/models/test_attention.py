import pytest
import torch

from s2svr.models import LocalAttention, align_window


@pytest.mark.parametrize("radius", [1, 2])
def test_weights_are_a_distribution_over_the_candidates(radius):
    torch.manual_seed(0)
    att = LocalAttention(num_feat=8, radius=radius)
    query, cand = torch.randn(2, 8, 6, 6), torch.randn(2, 2 * radius + 1, 8, 6, 6) * 3
    context, alpha = att(query, cand)
    assert alpha.shape == (2, 2 * radius + 1, 8, 6, 6) and context.shape == (2, 8, 6, 6)
    assert (alpha >= 0).all()
    assert torch.allclose(alpha.sum(dim=1), torch.ones(2, 8, 6, 6), atol=1e-6)
    assert torch.allclose(context, (alpha * cand).sum(1), atol=1e-6)  # Eq. (5)


def test_identical_candidates_give_themselves_as_context():
    torch.manual_seed(0)
    att = LocalAttention(num_feat=4, radius=2)
    z = torch.randn(1, 4, 5, 5)
    context, _ = att(torch.randn(1, 4, 5, 5), z.unsqueeze(1).expand(1, 5, 4, 5, 5))
    assert torch.allclose(context, z, atol=1e-5)


def test_wrong_number_of_candidates_is_an_error():
    with pytest.raises(ValueError, match="expects 3 candidates"):
        LocalAttention(num_feat=4, radius=1)(torch.zeros(1, 4, 3, 3), torch.zeros(1, 5, 4, 3, 3))


def test_align_window_replaces_missing_neighbours_by_the_centre():
    z = {j: torch.full((1, 2, 4, 4), float(j)) for j in range(3)}
    zero = torch.zeros(1, 2, 4, 4)
    flows = {k: zero for k in range(-1, 4)}
    win = align_window(z, 0, 2, flows, flows)  # j = -2, -1 missing
    assert [w.mean().item() for w in win.unbind(1)] == [0.0, 0.0, 0.0, 1.0, 2.0]
    win = align_window(z, 2, 1, flows, flows)  # j = 3 missing
    assert [w.mean().item() for w in win.unbind(1)] == [1.0, 2.0, 2.0]


def test_align_window_chains_warps_for_far_neighbours():
    # Content moves 1 pixel right per frame: x_k(p) = x_{k-1}(p - 1), so F_o(x_k, x_{k-1}) = -1 in x and
    # F_o(x_k, x_{k+1}) = +1. A neighbour two frames away must come back shifted by 2 pixels.
    torch.manual_seed(0)
    base = torch.randn(1, 3, 8, 12)
    z = {j: torch.roll(base, shifts=j, dims=3) for j in range(5)}
    fl = torch.zeros(1, 2, 8, 12)
    fl[:, 0] = 1.0
    win = align_window(z, 2, 2, {k: -fl for k in range(5)}, {k: fl for k in range(5)})
    for w in win.unbind(1):  # away from the zero-padded border every candidate equals z_2
        assert torch.allclose(w[..., 2:-2], z[2][..., 2:-2], atol=1e-5)

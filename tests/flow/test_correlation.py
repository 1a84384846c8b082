"""Tests for s2svr.flow.correlation: the cost volume equals a brute-force loop."""
import torch

from s2svr.flow.correlation import correlation


def brute_force(f1, f2, r):
    b, c, h, w = f1.shape
    d = 2 * r + 1
    out = torch.zeros(b, d * d, h, w, dtype=f1.dtype)
    for y in range(h):
        for x in range(w):
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < h and 0 <= xx < w:
                        k = (dy + r) * d + (dx + r)
                        out[:, k, y, x] = (f1[:, :, y, x] * f2[:, :, yy, xx]).sum(1) / c
    return out


def test_correlation_equals_brute_force():
    g = torch.Generator().manual_seed(0)
    f1 = torch.randn(2, 5, 7, 6, generator=g, dtype=torch.float64)
    f2 = torch.randn(2, 5, 7, 6, generator=g, dtype=torch.float64)
    for r in (1, 4):
        got = correlation(f1, f2, search_range=r)
        assert got.shape == (2, (2 * r + 1) ** 2, 7, 6)
        torch.testing.assert_close(got, brute_force(f1, f2, r))


def test_correlation_centre_channel_is_mean_product_and_shift_peaks():
    g = torch.Generator().manual_seed(1)
    f1 = torch.randn(1, 64, 12, 12, generator=g)  # many channels: the true match dominates
    cv = correlation(f1, f1, search_range=4)
    assert cv.shape == (1, 81, 12, 12)
    torch.testing.assert_close(cv[:, 40], (f1 * f1).mean(1))
    # f2(x) = f1(x - 2 in x): the match for pixel x sits at displacement dx = +2, dy = 0
    f2 = torch.roll(f1, shifts=2, dims=-1)
    cv = correlation(f1, f2, search_range=4)
    best = cv[0, :, 4:8, 4:8].argmax(0)  # interior pixels, unaffected by the wrap-around of roll
    assert (best == 4 * 9 + (2 + 4)).all()


def test_correlation_gradients_flow_to_both_inputs():
    f1 = torch.randn(1, 3, 5, 5, requires_grad=True)
    f2 = torch.randn(1, 3, 5, 5, requires_grad=True)
    correlation(f1, f2, 2).sum().backward()
    assert f1.grad.abs().sum() > 0 and f2.grad.abs().sum() > 0

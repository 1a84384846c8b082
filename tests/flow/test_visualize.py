"""Tests for s2svr.flow.visualize: Middlebury colour wheel coding."""
import numpy as np
import pytest
import torch

from s2svr.flow.visualize import flow_to_color, make_colorwheel


def constant_flow(u, v, h=4, w=5):
    flow = np.zeros((2, h, w))
    flow[0], flow[1] = u, v
    return flow


def test_colorwheel_shape_and_range():
    wheel = make_colorwheel()
    assert wheel.shape == (55, 3)
    assert wheel.min() >= 0 and wheel.max() <= 255
    np.testing.assert_array_equal(wheel[0], [255, 0, 0])  # starts at red
    np.testing.assert_array_equal(wheel[15], [255, 255, 0])  # yellow after RY = 15 steps


def test_zero_flow_is_white():
    img = flow_to_color(np.zeros((2, 6, 7)))
    assert img.dtype == np.uint8 and img.shape == (6, 7, 3)
    assert (img == 255).all()


def test_directions_get_distinct_hues():
    right = flow_to_color(constant_flow(3.0, 0.0))[0, 0].astype(int)
    left = flow_to_color(constant_flow(-3.0, 0.0))[0, 0].astype(int)
    down = flow_to_color(constant_flow(0.0, 3.0))[0, 0].astype(int)
    up = flow_to_color(constant_flow(0.0, -3.0))[0, 0].astype(int)
    assert right[0] > 200 and right[1] < 60 and right[2] < 60  # +x is red
    assert left[0] < 60 and left[1] > 150 and left[2] > 150  # -x is cyan
    colours = [tuple(c) for c in (right, left, down, up)]
    assert len(set(colours)) == 4
    assert all(np.abs(np.subtract(a, b)).sum() > 100 for i, a in enumerate(colours) for b in colours[i + 1:])


def test_layouts_and_torch_agree():
    flow = np.random.default_rng(0).normal(size=(2, 8, 9))
    ref = flow_to_color(flow)
    assert ref.shape == (8, 9, 3) and ref.dtype == np.uint8
    np.testing.assert_array_equal(flow_to_color(np.moveaxis(flow, 0, -1)), ref)
    np.testing.assert_array_equal(flow_to_color(torch.from_numpy(flow).float()), ref)
    np.testing.assert_array_equal(flow_to_color(torch.from_numpy(flow)[None]), ref)


def test_max_flow_sets_saturation():
    half = flow_to_color(constant_flow(1.0, 0.0), max_flow=2.0)[0, 0].astype(int)
    full = flow_to_color(constant_flow(2.0, 0.0), max_flow=2.0)[0, 0].astype(int)
    assert half[1] > full[1] and half[2] > full[2]  # shorter vector is paler (closer to white)
    beyond = flow_to_color(constant_flow(4.0, 0.0), max_flow=2.0)[0, 0].astype(int)
    assert beyond[0] < full[0]  # beyond max_flow is drawn darker


def test_rejects_wrong_shape():
    with pytest.raises(ValueError):
        flow_to_color(np.zeros((3, 4, 5)))

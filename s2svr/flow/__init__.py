"""Optical flow: warping, occlusion, PWC-Lite and its unsupervised training (Sec. 3.3)."""
from .correlation import correlation
from .occlusion import occlusion_mask, visibility_mask
from .pwclite import PWCLite
from .use import FlowUse, run_flow
from .visualize import flow_to_color, make_colorwheel
from .warp import base_grid, flow_warp, resize_flow

__all__ = ["flow_warp", "resize_flow", "base_grid", "occlusion_mask", "visibility_mask",
           "correlation", "PWCLite", "FlowUse", "run_flow", "flow_to_color", "make_colorwheel"]

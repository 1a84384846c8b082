"""Optical flow: warping, occlusion, PWC-Lite and its unsupervised training (Sec. 3.3)."""
from .occlusion import occlusion_mask, visibility_mask
from .warp import base_grid, flow_warp, resize_flow

__all__ = ["flow_warp", "resize_flow", "base_grid", "occlusion_mask", "visibility_mask"]

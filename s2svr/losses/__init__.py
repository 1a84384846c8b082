"""Losses: the unsupervised flow losses of Sec. 3.3 (Eqs. 11, 13, 14, 16, 17) and the restoration loss.

Explained in the chapters `notebooks/flow_losses.py` and `notebooks/distillation.py`. Each loss is a plain function plus a thin `nn.Module`.
"""
from .distillation import DistillationLoss, distillation_loss
from .photometric import (PhotometricLoss, census_distance, photometric_distance, photometric_loss,
                          ssim_distance)
from .restoration import CharbonnierLoss, charbonnier_loss
from .supervised import epe_map, multiscale_epe_loss
from .smoothness import SmoothnessLoss, edge_weights, image_gradients, smoothness_loss
from .totals import FlowLoss, distillation_flow_loss, resize_images, unsupervised_flow_loss

__all__ = ["photometric_loss", "photometric_distance", "ssim_distance", "census_distance", "PhotometricLoss",
           "smoothness_loss", "edge_weights", "image_gradients", "SmoothnessLoss",
           "distillation_loss", "DistillationLoss", "charbonnier_loss", "CharbonnierLoss",
           "epe_map", "multiscale_epe_loss", "FlowLoss", "unsupervised_flow_loss", "distillation_flow_loss", "resize_images"]

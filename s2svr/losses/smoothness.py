"""First-order edge-aware smoothness of a flow field, Eq. (13).

Explained in `notebooks/flow_losses.py`.

::

    L_sm(F12) = sum_{d in x, y} sum_p |d_d F12(p)| * exp(-alpha |d_d y1(p)|)                   (13)

The paper writes alpha = 1 implicitly; ARFlow (whose weights the paper reuses) uses alpha = 10 and takes
``|d_d y1|`` as the mean over colour channels of the absolute image gradient, so the weight is one value per
pixel shared by both flow channels. Sums become means, with ARFlow's normalisation
`(mean_x + mean_y) / 4` (each direction halved twice in `smooth_grad_1st`), kept because
omega_sm = 50 was tuned with it. ARFlow also divides the flow by min(H, W) of the finest level before
this loss; that scaling is applied by the caller (`totals.FlowLoss.smoothness_term`), not here.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def image_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences: dx `(B, C, H, W-1)`, dy `(B, C, H-1, W)`."""
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def edge_weights(image: torch.Tensor, alpha: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``exp(-alpha * mean_c |d_d image|)`` for d = x, y: `(B, 1, H, W-1)` and `(B, 1, H-1, W)`, in (0, 1]."""
    img_dx, img_dy = image_gradients(image)
    return (torch.exp(-alpha * img_dx.abs().mean(1, keepdim=True)),
            torch.exp(-alpha * img_dy.abs().mean(1, keepdim=True)))


def smoothness_loss(flow: torch.Tensor, image: torch.Tensor, alpha: float = 10.0) -> torch.Tensor:
    """Eq. (13), ARFlow's `smooth_grad_1st`.

    Args:
        flow: `(B, 2, H, W)` (any unit; the result is linear in it).
        image: `(B, C, H, W)` in [0, 1], the frame the flow starts from (y1 or x1).
        alpha: edge sensitivity; 0 gives plain total variation.
    Returns:
        scalar `(mean(w_x |dx F|) + mean(w_y |dy F|)) / 4`; 0 for a constant flow.
    """
    if flow.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"smoothness_loss: flow {tuple(flow.shape)} and image {tuple(image.shape)} differ in size")
    w_x, w_y = edge_weights(image, alpha)
    f_dx, f_dy = image_gradients(flow)
    return (w_x * f_dx.abs()).mean() / 4 + (w_y * f_dy.abs()).mean() / 4


def smoothness_loss_2nd(flow: torch.Tensor, image: torch.Tensor, alpha: float = 10.0) -> torch.Tensor:
    """Second-order edge-aware smoothness (ARFlow's `smooth_grad_2nd`, its KITTI recipe): penalises the change of
    the flow's gradient, so affine motion (rotation, zoom) costs nothing where first order charges its slope.

    Returns:
        scalar `mean(w_x |dxx F|) / 2 + mean(w_y |dyy F|) / 2` with the edge weights of :func:`edge_weights`
        (taken at the left / upper pixel of each second difference, as ARFlow); 0 for any affine flow.
    """
    if flow.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"smoothness_loss_2nd: flow {tuple(flow.shape)} and image {tuple(image.shape)} differ in size")
    w_x, w_y = edge_weights(image, alpha)
    f_dx, f_dy = image_gradients(flow)
    f_dxx, _ = image_gradients(f_dx)
    _, f_dyy = image_gradients(f_dy)
    return (w_x[..., :, 1:] * f_dxx.abs()).mean() / 2 + (w_y[..., 1:, :] * f_dyy.abs()).mean() / 2


class SmoothnessLoss(nn.Module):
    """Module form of :func:`smoothness_loss`."""

    def __init__(self, alpha: float = 10.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, flow, image):
        return smoothness_loss(flow, image, self.alpha)

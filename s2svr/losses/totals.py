"""The losses of Algorithm 1: Eq. (14) (teacher, step 1) and Eq. (17) (student, step 2), multi-scale.

Explained in the chapters `notebooks/flow_losses.py` (Eq. 14, the `min_visible` guard) and
`notebooks/distillation.py` (Eq. 17).

    L = w_ph L_ph(F) + w_sm L_sm(F)                                   (14)  teacher on HQ frames y1, y2
    L = w_ph L_ph(F^x) + w_sm L_sm(F^x) + w_dis L_dis(F^x, F^y)       (17)  student on LQ frames x1, x2

with w_ph = 0.15, w_sm = 50, w_dis = 0.1. Conventions (ARFlow's `unFlowLoss`, whose `sintel_raw.json` has
exactly w_l1 = 0.15 and w_smooth = 50, i.e. the paper's omega_ph and omega_sm):

* rho of Eq. (11) = L1 + (w_ssim / w_l1) SSIM + (w_census / w_l1) census, so w_ph * rho = (w_ph / w_l1) times
  ARFlow's w_l1 L1 + w_ssim SSIM + w_census census; with the defaults 0.15 L1 + 0.85 SSIM, ARFlow's photometric
  term (w_ssim = 0 gives the paper's plain L1). Without L1 (w_l1 = 0) w_ph * rho is ARFlow's sum itself
  (rho = (w_ssim SSIM + w_census census) / w_ph): its stage 1, w_census = 1 alone, is then the census term of ARFlow.
* Multi-scale over the flow pyramid, finest first (PWC-Lite: full, 1/2, 1/4, 1/8, 1/16): photometric
  weights `w_scales = (1, 1, 1, 1, 0)`, smoothness weights `w_sm_scales = (1, 0, 0, 0, 0)` (ARFlow). Frames
  are area-downsampled to each level; the occlusion mask is computed at the finest level and
  nearest-downsampled (ARFlow). Levels beyond the weight lists get weight 0.
* Smoothness sees the flow divided by min(H, W) of the finest level (ARFlow), i.e. in frame units, so
  w_sm = 50 means the same on 64x64 LQ crops and 256x256 HQ crops.
* Distillation (Eq. 16) uses the finest student flow only, resized to the teacher's size.
* `bidirectional=True` (default, ARFlow `with_bk`) averages every term with its F21 counterpart. The paper
  writes the equations for F12 only, but the occlusion mask O needs F21 too; with F12 alone, F21 gets no
  gradient, drifts towards F12 and the forward-backward check then marks every pixel occluded, a trivial
  zero of L_ph. The fraction of visible pixels is returned as `terms['visible']` to watch for this, and
  a sample whose check keeps less than `min_visible` (0.1) of its pixels counts all of them (`_visible`).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..flow.occlusion import occlusion_from_range, visibility_mask
from .distillation import distillation_loss
from .photometric import photometric_loss
from .smoothness import smoothness_loss, smoothness_loss_2nd

ARFLOW_W_SCALES = (1.0, 1.0, 1.0, 1.0, 0.0)
ARFLOW_W_SM_SCALES = (1.0, 0.0, 0.0, 0.0, 0.0)


def resize_images(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Frames `(B, C, H, W)` to `size`: 'area' when shrinking (ARFlow), bilinear when growing."""
    h, w = img.shape[-2:]
    size = (int(size[0]), int(size[1]))
    if (h, w) == size:
        return img
    if size[0] <= h and size[1] <= w:
        return F.interpolate(img, size=size, mode="area")
    return F.interpolate(img, size=size, mode="bilinear", align_corners=False)


def _weight(weights: Sequence[float], level: int) -> float:
    return float(weights[level]) if level < len(weights) else 0.0


class FlowLoss(nn.Module):
    """Eqs. (14) and (17), one method per weighted term; build with :meth:`from_config`."""

    def __init__(self, w_ph: float = 0.15, w_sm: float = 50.0, w_dis: float = 0.1, w_l1: float = 0.15,
                 w_ssim: float = 0.85, w_census: float = 0.0, smooth_alpha: float = 10.0,
                 w_scales: Sequence[float] = ARFLOW_W_SCALES, w_sm_scales: Sequence[float] = ARFLOW_W_SM_SCALES,
                 bidirectional: bool = True, min_visible: float = 0.1, occlusion: str = "fb",
                 occ_range_th: float = 0.2, smooth_order: int = 1):
        super().__init__()
        self.w_ph, self.w_sm, self.w_dis = float(w_ph), float(w_sm), float(w_dis)
        # rho's inner weights, normalised so that the L1 coefficient is 1 (the paper's rho = L1); without L1, by w_ph,
        # so that w_ph * rho carries ARFlow's weights as they are
        norm = float(w_l1) if w_l1 > 0 else (float(w_ph) if w_ph > 0 else 1.0)
        self.rho = dict(w_l1=float(w_l1) / norm, w_ssim=float(w_ssim) / norm, w_census=float(w_census) / norm)
        self.smooth_alpha = float(smooth_alpha)
        if smooth_order not in (1, 2):
            raise ValueError(f"smooth_order must be 1 or 2, got {smooth_order!r}")
        self.smooth_order = int(smooth_order)
        self._smooth = smoothness_loss if self.smooth_order == 1 else smoothness_loss_2nd
        self.w_scales, self.w_sm_scales = tuple(w_scales), tuple(w_sm_scales)
        self.bidirectional = bool(bidirectional)
        self.min_visible = float(min_visible)
        if occlusion not in ("fb", "range", "none"):
            raise ValueError(f"occlusion must be 'fb', 'range' or 'none', got {occlusion!r}")
        self.occlusion, self.occ_range_th = occlusion, float(occ_range_th)

    @classmethod
    def from_config(cls, cfg) -> "FlowLoss":
        """From a :class:`s2svr.configs.FlowLossConfig` (a flow config's `loss`, or its `loss_at(step)`)."""
        return cls(w_ph=cfg.w_ph, w_sm=cfg.w_sm, w_dis=cfg.w_dis, w_l1=cfg.w_l1, w_ssim=cfg.w_ssim,
                   w_census=cfg.w_census, smooth_alpha=cfg.smooth_alpha, w_scales=cfg.w_scales,
                   w_sm_scales=cfg.w_sm_scales, bidirectional=cfg.bidirectional, min_visible=cfg.min_visible,
                   occlusion=cfg.occlusion, occ_range_th=cfg.occ_range_th, smooth_order=cfg.smooth_order)

    # ------------------------------------------------------------------ helpers
    def _directions(self, pyramid: dict, img1: torch.Tensor, img2: torch.Tensor):
        """[(flows, flows_back, frame_from, frame_to)] for F12 (and F21 if bidirectional)."""
        fw, bw = pyramid["flows_fw"], pyramid.get("flows_bw")
        dirs = [(fw, bw, img1, img2)]
        if self.bidirectional:
            if bw is None:
                raise ValueError("bidirectional flow loss needs pyramid['flows_bw'] (forward_pyramid(..., with_bw=True))")
            dirs.append((bw, fw, img2, img1))
        return dirs

    def _check(self, flows: list, flows_back: list | None) -> torch.Tensor | None:
        """Visibility at the finest level, `(B, 1, H, W)`: the forward-backward check (`occlusion='fb'`) or the
        backward flow's range map ('range'); None without backward flows or with `occlusion='none'`."""
        if flows_back is None or self.occlusion == "none":
            return None
        if self.occlusion == "range":
            return 1.0 - occlusion_from_range(flows_back[0], self.occ_range_th)
        return visibility_mask(flows[0], flows_back[0])

    def _visible(self, flows: list, flows_back: list | None) -> torch.Tensor | None:
        """The mask O of Eq. (11); a sample whose check keeps less than `min_visible` counts every pixel.

        Why: normalised by the visible count, L_ph is 0 when every pixel is "occluded", so a network whose F21
        is not (yet) the inverse of F12 - any untrained one, whose F12 and F21 share the same bias - falls
        into that trivial zero within a few steps and gets no photometric gradient ever after (seen with
        PWC-Lite on the embedded set). UnFlow avoids it with a penalty per occluded pixel; this guard keeps
        ARFlow's loss unchanged whenever the check leaves at least `min_visible` of the frame.
        """
        vis = self._check(flows, flows_back)
        if vis is None or self.min_visible <= 0:
            return vis
        degenerate = vis.mean((1, 2, 3), keepdim=True) < self.min_visible  # (B, 1, 1, 1)
        return torch.where(degenerate, torch.ones_like(vis), vis)

    # ------------------------------------------------------------------ weighted terms
    def visible_fraction(self, pyramid: dict) -> torch.Tensor:
        """Fraction of pixels the forward-backward check keeps at the finest level (before the `min_visible` guard),
        whichever mask the loss uses: the measure of how consistent F12 and F21 are."""
        fw, bw = pyramid["flows_fw"], pyramid.get("flows_bw")
        return fw[0].new_ones(()) if bw is None else visibility_mask(fw[0], bw[0]).mean()

    def photometric_term(self, pyramid: dict, img1: torch.Tensor, img2: torch.Tensor) -> torch.Tensor:
        """w_ph * sum_l w_scales[l] * L_ph at level l (Eq. 11), averaged over directions."""
        total = img1.new_zeros(())
        dirs = self._directions(pyramid, img1, img2)
        for flows, flows_back, a, b in dirs:
            visible = self._visible(flows, flows_back)  # (B, 1, H0, W0) or None
            for level, flow in enumerate(flows):
                w = _weight(self.w_scales, level)
                if w == 0:
                    continue
                size = flow.shape[-2:]
                vis = None if visible is None else F.interpolate(visible, size=size, mode="nearest")
                total = total + w * photometric_loss(resize_images(a, size), resize_images(b, size), flow, vis,
                                                     **self.rho)
        return self.w_ph * total / len(dirs)

    def smoothness_term(self, pyramid: dict, img1: torch.Tensor, img2: torch.Tensor) -> torch.Tensor:
        """w_sm * sum_l w_sm_scales[l] * L_sm at level l (Eq. 13) on flow / min(H0, W0)."""
        total = img1.new_zeros(())
        dirs = self._directions(pyramid, img1, img2)
        for flows, _, a, _ in dirs:
            s = float(min(flows[0].shape[-2:]))  # frame units, as ARFlow
            for level, flow in enumerate(flows):
                w = _weight(self.w_sm_scales, level)
                if w == 0:
                    continue
                total = total + w * self._smooth(flow / s, resize_images(a, flow.shape[-2:]), self.smooth_alpha)
        return self.w_sm * total / len(dirs)

    def distillation_term(self, pyramid: dict, teacher_fw: torch.Tensor,
                          teacher_bw: torch.Tensor | None = None) -> torch.Tensor:
        """w_dis * L_dis (Eq. 16) between the finest student flow and the teacher's HQ flow."""
        loss = distillation_loss(pyramid["flows_fw"][0], teacher_fw)
        if self.bidirectional:
            if teacher_bw is None or pyramid.get("flows_bw") is None:
                raise ValueError("bidirectional distillation needs the teacher's and the student's backward flows")
            loss = (loss + distillation_loss(pyramid["flows_bw"][0], teacher_bw)) / 2
        return self.w_dis * loss

    # ------------------------------------------------------------------ totals
    def forward(self, pyramid: dict, img1: torch.Tensor, img2: torch.Tensor, flow_teacher=None):
        """Eq. (14), or Eq. (17) when `flow_teacher` is given.

        Args:
            pyramid: `PWCLite.forward_pyramid(img1, img2, with_bw=True)`: {'flows_fw': [finest, ...],
                'flows_bw': [...]} flows `(B, 2, h_l, w_l)` in pixels of their level. Without 'flows_bw'
                every pixel counts as visible.
            img1, img2: `(B, C, H, W)` in [0, 1], the frames the flows were computed on.
            flow_teacher: None, or the teacher's HQ flow `(B, 2, H', W')` (or a (fw, bw) pair).
        Returns:
            (total, terms): scalar total and {'ph', 'sm'[, 'dis']} weighted terms plus 'visible' (fraction of
            frame-1 pixels kept by the occlusion check, not part of the total), detached, for logging.
        """
        terms = {"ph": self.photometric_term(pyramid, img1, img2),
                 "sm": self.smoothness_term(pyramid, img1, img2)}
        if flow_teacher is not None:
            t_fw, t_bw = flow_teacher if isinstance(flow_teacher, (tuple, list)) else (flow_teacher, None)
            terms["dis"] = self.distillation_term(pyramid, t_fw, t_bw)
        total = sum(terms.values())
        terms["visible"] = self.visible_fraction(pyramid)
        return total, {k: v.detach() for k, v in terms.items()}


def unsupervised_flow_loss(pyramid: dict, img1: torch.Tensor, img2: torch.Tensor, cfg=None, **weights):
    """Eq. (14): `(total, {'ph', 'sm', 'visible'})`; weights from `cfg` (a FlowLossConfig) or keywords of
    :class:`FlowLoss`."""
    loss = FlowLoss.from_config(cfg) if cfg is not None else FlowLoss(**weights)
    return loss(pyramid, img1, img2)


def distillation_flow_loss(pyramid: dict, img1: torch.Tensor, img2: torch.Tensor, flow_teacher, cfg=None,
                           **weights):
    """Eq. (17): `(total, {'ph', 'sm', 'dis', 'visible'})`; the student's pyramid on LQ frames, the teacher's HQ flow."""
    loss = FlowLoss.from_config(cfg) if cfg is not None else FlowLoss(**weights)
    return loss(pyramid, img1, img2, flow_teacher=flow_teacher)

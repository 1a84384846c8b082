"""Fig. 7 (motion compensation sharpens the features), measured on a trained model.

:func:`encoder_saliency` streams a clip and returns the channel-mean |z_t| of the top encoder latent (the
"feature saliency"), :func:`sharpness` scores a map by its mean gradient magnitude relative to its mean, and
:func:`without_motion` gives the same network with its flow replaced by zero flow (Eq. 8 skipped in effect).
Explained in `notebooks/motion.py`; used by `notebooks/report.py`.
"""
from __future__ import annotations

import torch

@torch.no_grad()
def encoder_saliency(model, frames_lq: torch.Tensor) -> torch.Tensor:
    """Feature saliency of Fig. 7: channel-mean |z_t| of the top encoder latent of a `paper`-layout S2SVR,
    streamed over `(T, C, H, W)` frames -> `(T, H, W)`."""
    model.eval()
    state, out = model.init_stream(), []
    for f in frames_lq:
        model.stream_step(state, f.unsqueeze(0))
        out.append(state.latents[state.num_in - 1][0].abs().mean(0))
    return torch.stack(out)

def sharpness(saliency: torch.Tensor) -> float:
    """Mean gradient magnitude of a `(H, W)` map divided by its mean (as in `notebooks/motion.py`):
    thin lines score high, the same lines smeared (or ghosted by misaligned history) lower."""
    gy, gx = torch.gradient(saliency.double())
    return float((gx ** 2 + gy ** 2).sqrt().mean() / saliency.double().mean().clamp_min(1e-12))

def without_motion(model):
    """A copy of `model` (same weights) whose flow network answers zero motion: no motion compensation."""
    import copy

    from ..flow.standins import ZeroFlow
    twin = copy.deepcopy(model)
    twin.flow = ZeroFlow()
    return twin.eval()

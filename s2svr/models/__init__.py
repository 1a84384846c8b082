"""The S2SVR network (Sec. 3.1-3.2): ConvGRU/ResConvGRU, encoder, decoder, local attention, task heads.

Explained in `notebooks/convgru.py`, `notebooks/encoder_decoder.py`, `notebooks/attention.py` and `notebooks/motion.py`;
the baselines of `model.arch` in `notebooks/exp_sr.py`.
"""
from __future__ import annotations

import dataclasses

import torch.nn as nn

from ..configs.schema import ModelConfig
from ..utils import count_parameters
from .attention import LocalAttention
from .baselines import BASELINES, BasicVSRBaseline, IdentityBaseline, SingleFrameBaseline, build_baseline
from .convgru import ConvGRU, ResConvGRU, ResidualBlock
from .decoder import Decoder, OutputEmbedding
from .encoder import Encoder
from .heads import RestorationHead, SRHead, build_head, identity_start
from .motion import align_window, estimate_flow_pair, estimate_flows, warp_states
from .network import S2SVR, StreamState

COMPONENTS = ("flow", "encoder", "attention", "decoder", "head")

__all__ = ["S2SVR", "StreamState", "build_model", "parameter_breakdown", "ConvGRU", "ResConvGRU", "ResidualBlock",
           "LocalAttention", "Encoder", "Decoder", "OutputEmbedding", "SRHead", "RestorationHead", "build_head",
           "align_window", "estimate_flow_pair", "estimate_flows", "warp_states", "COMPONENTS",
           "BASELINES", "IdentityBaseline", "SingleFrameBaseline", "BasicVSRBaseline", "build_baseline"]


def build_model(model_cfg: ModelConfig, flow_net: nn.Module | None = None) -> nn.Module:
    """The network of the `model:` section of a config: an :class:`S2SVR` (`arch: s2svr`) or a baseline
    (`s2svr.models.baselines`); `flow_net` defaults to a new PWC-Lite (for the models that use flow)."""
    kwargs = dataclasses.asdict(model_cfg)
    head_init = kwargs.pop("head_init")
    if kwargs.pop("arch") != "s2svr":
        model = build_baseline(model_cfg, flow_net=flow_net)
    else:
        model = S2SVR(**kwargs, flow_net=flow_net)
    if head_init == "identity" and hasattr(model, "head"):
        identity_start(model.head)
    elif head_init not in ("default", "identity"):
        raise ValueError(f"model.head_init must be 'default' or 'identity', got {head_init!r}")
    return model


def parameter_breakdown(model: nn.Module) -> dict[str, int]:
    """Parameters per top-level component, in the order flow, encoder, attention, decoder, head, any other
    child module, then 'total'."""
    children = dict(model.named_children())
    rows = {name: count_parameters(children[name]) for name in COMPONENTS if name in children}
    rows.update({name: count_parameters(m) for name, m in children.items() if name not in rows})
    own = sum(p.numel() for p in model.parameters(recurse=False))
    if own:
        rows["other"] = own
    rows["total"] = count_parameters(model)
    return rows

"""One memo for a frozen flow network's answers in use: each frame pair is computed once.

The book asks a frozen flow net for the same pairs again and again: Table 5 cuts every clip into segments of
5, 15 and 30 frames (the adjacent pairs do not depend on the segment), and the flow evaluation runs the HQ teacher as
`reference` on every pair once per evaluated model. :class:`FlowMemo` wraps the net (PWC-Lite's calling convention
`net(img1, img2, with_bw=False, work_size=None)`) and answers a batched call pair by pair from a cache keyed by

- the net: its class, its weights and buffers, its layers (`arch()`) and how it runs in use (`use`: zoom, padding,
  size cap; read at each call, so a net set to another zoom after wrapping is not served a stale flow);
- the bytes and shapes of the two frames, the directions asked for, `work_size`.

A forward-only request for a pair already answered in both directions gets that answer's forward flow (PWC-Lite runs
the two directions as one batch, so it may differ from a forward-only run in the last bits). A cache dict can be
shared between memos: nets with equal weights (the plan's S2SVR and BasicVSR start from the same frozen student)
then share their flows. Inference only (`no_grad`); callers get copies, so they cannot corrupt the cache.

Used by `s2svr.report.segments` (Table 5) and the distillation chapter (`notebooks/distillation.py`). The training
flows of a frozen flow net are a different store, kept on disk per sequence (`s2svr.train.flow_bank`).
"""
from __future__ import annotations

import hashlib
import json

import torch
import torch.nn as nn


def weights_digest(module: nn.Module) -> str:
    """A digest of a module's class, parameters and buffers (names and values)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(type(module).__name__.encode())
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _run_settings(net: nn.Module) -> str:
    """What `net` is (its arch) and how it runs in use (its `use`, which can change after wrapping)."""
    arch = net.arch() if callable(getattr(net, "arch", None)) else {}
    use = net.use.as_dict() if hasattr(net, "use") else {}
    return json.dumps([arch, use], sort_keys=True, default=str)


def _frame_digest(t: torch.Tensor) -> str:
    t = t.detach().cpu().contiguous()
    h = hashlib.blake2b(str((tuple(t.shape), str(t.dtype))).encode(), digest_size=16)
    h.update(t.numpy().tobytes())
    return h.hexdigest()


class FlowMemo(nn.Module):
    """`net` with each frame pair's flow computed once (see the module docstring). `calls` counts the pairs computed."""

    def __init__(self, net: nn.Module, cache: dict | None = None):
        super().__init__()
        self.inner = net
        self.cache = {} if cache is None else cache
        self.weights = weights_digest(net)  # frozen: hashed once
        self.calls = 0

    @torch.no_grad()
    def forward(self, img1: torch.Tensor, img2: torch.Tensor, with_bw: bool = False, work_size=None):
        net = (self.weights, _run_settings(self.inner), None if work_size is None else tuple(work_size))
        kwargs = {} if work_size is None else {"work_size": work_size}
        outs = []
        for a, b in zip(img1.split(1), img2.split(1)):
            pair = (net, _frame_digest(a), _frame_digest(b))
            both = self.cache.get((*pair, True))
            if not with_bw and both is not None:
                outs.append(both[0])
                continue
            k = (*pair, bool(with_bw))
            if k not in self.cache:
                self.calls += 1
                self.cache[k] = self.inner(a, b, with_bw=True, **kwargs) if with_bw else self.inner(a, b, **kwargs)
            outs.append(self.cache[k])
        if with_bw:
            return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])
        return torch.cat(outs)  # torch.cat copies: the cached tensors stay as they were

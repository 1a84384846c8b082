"""S2SVR: flow estimator + encoder + local attention + decoder + task head, in two temporal layouts.

Explained in `notebooks/motion.py`
(the pieces: `notebooks/convgru.py`, `notebooks/encoder_decoder.py`, `notebooks/attention.py`).

Layouts (`layout=`):

- `paper`: forward encoder (Eq. 1), forward decoder (Eqs. 3-4), attention looking `radius` frames ahead
  (Eq. 5). Output t depends only on frames <= t + r, so the video can be restored as a stream with delay r and
  constant memory. It is written as explicit step functions over a :class:`StreamState`
  (`init_stream` / `stream_step` / `stream_flush`); `forward` runs the very same steps, so offline and
  streaming outputs agree by construction.
- `official`: the public code: encoder layer 1 bidirectional, layers 2..L forward, all states from zero;
  the decoder runs in reverse time, each layer initialised from the encoder's state at the last frame, its
  first step fed with the top encoder output. Needs the whole clip. Only the temporal order and the
  initialisation follow the public code: both layouts share the same cells (embedding conv before the encoder,
  context concatenated into every decoder layer, attention query s_{i-1} of Eq. 7), whereas the public code feeds
  raw frames to its first GRU, fuses c_i into decoder layers 2..L by a conv, and queries with the current step's
  first-layer output.

Choices where the paper is silent (paper layout):

- Decoder initial state s_{-1}^l = the encoder's layer-l state at frame 0, z_0^l (the causal counterpart of
  the public code's "encoder state at the last frame"); no warp is needed since both sit on frame 0.
- y_{-1} (no previous output yet): its re-embedding is replaced by the top latent z_0, as the public code
  feeds the top encoder output at its first decoder step.
- The attention query s_{i-1} of Eq. (7) is the top decoder state s_{i-1}^L after motion compensation (Eq. 8).
- Neighbours at distance > 1 are aligned by chained warps; missing ones at the ends are replaced by the centre
  (see `s2svr.models.motion.align_window`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import torch
import torch.nn as nn

from ..flow.warp import flow_warp
from .attention import LocalAttention
from .decoder import Decoder
from .encoder import Encoder
from .heads import build_head
from .motion import align_window, check_flows, estimate_flow_pair, estimate_flows, warp_states


@dataclass
class StreamState:
    """Everything the paper layout remembers between frames. Its size does not depend on the video length:
    at most 2r+1 latents, LQ frames and flows of each direction, plus one state per layer for encoder and decoder.
    Frame indices are absolute (0 = first frame of the stream)."""

    num_in: int = 0                    # frames received
    num_out: int = 0                   # frames restored and returned
    prev_frame: torch.Tensor | None = None              # x_{t-1} (B, C, H, W), for the next flow
    enc_states: list | None = None     # the encoder layers' states carried from frame t-1 (carry 'output': z_{t-1}^l)
    dec_init: list | None = None       # their states at frame 0: the decoder's initial state (until frame 0 is decoded)
    dec_states: list | None = None     # the decoder layers' states carried from step i-1 (carry 'output': s_{i-1}^l)
    prev_output: torch.Tensor | None = None             # y_{i-1} (B, C_in, sH, sW)
    prev_embedded: torch.Tensor | None = None           # its re-embedding (B, C, H, W), held instead when compact
    compact: bool = False                               # hold y_{i-1} re-embedded where that is smaller
    latents: dict = field(default_factory=dict)         # j -> z_j (top encoder layer)
    frames: dict = field(default_factory=dict)          # j -> x_j, for the head's global residual
    flow_bw: dict = field(default_factory=dict)         # k -> F_o(x_k, x_{k-1})
    flow_fw: dict = field(default_factory=dict)         # k -> F_o(x_k, x_{k+1})
    keep_attention: bool = False
    attention: list = field(default_factory=list)       # alpha of every decoded frame, if keep_attention

    def num_tensors(self) -> int:
        """Tensors held (attention history excluded): bounded by a constant for a given radius and depth."""
        n = sum(len(d) for d in (self.latents, self.frames, self.flow_bw, self.flow_fw))
        n += sum(len(s or []) for s in (self.enc_states, self.dec_init, self.dec_states))
        return n + (self.prev_frame is not None) + (self.prev_output is not None) + (self.prev_embedded is not None)


class S2SVR(nn.Module):
    """The S2SVR network (Sec. 3.1-3.2). Child modules: `flow`, `encoder`, `attention`, `decoder`, `head`.

    The arguments mirror `s2svr.configs.ModelConfig`.

    Args:
        task: 'sr' (x`scale`), 'deblur' or 'vqe'.
        layout: 'paper' (causal up to `radius` frames, streamable) or 'official' (public code, whole clip).
        in_channels: 3 (RGB) or 1 (Y; the flow net then sees Y repeated to 3 channels).
        num_feat, num_blocks, num_layers: ResConvGRU width C, residual blocks per layer, stacked layers.
        radius: local attention radius r, Eq. (5).
        scale: SR factor; ignored (taken as 1) for deblur and vqe, which restore at the input size.
        flow_size: PWC-Lite works at flow_size x flow_size (None: at the LQ size).
        upsample: SR global residual, 'bilinear' or 'bicubic'.
        carry: what each ResConvGRU layer carries to the next frame: 'output' (Eq. 9 as written), 'block' (F_b's
            output without the inter-layer residual, as the public code's encoder) or 'gru' (F_g's own state, as a
            ConvGRU and the public code's decoder; bounded); `s2svr.models.convgru`.
        flow_net: F_o of Eq. (8), called as `flow_net(img1, img2, with_bw=False, work_size=None)`;
            default a new `s2svr.flow.pwclite.PWCLite()`.
    """

    def __init__(self, *, task: str = "sr", layout: str = "paper", in_channels: int = 3, num_feat: int = 64,
                 num_blocks: int = 13, num_layers: int = 3, radius: int = 1, scale: int = 4,
                 flow_size: int | None = 256, upsample: str = "bilinear", carry: str = "output",
                 flow_net: nn.Module | None = None):
        super().__init__()
        if layout not in ("paper", "official"):
            raise ValueError(f"layout must be 'paper' or 'official', got {layout!r}")
        if task != "sr":
            scale = 1  # deblur and vqe restore at the input size whatever the config says
        self.task, self.layout, self.in_channels = task, layout, in_channels
        self.num_feat, self.radius, self.scale, self.flow_size = num_feat, radius, scale, flow_size
        if flow_net is None:
            from ..flow.pwclite import PWCLite
            flow_net = PWCLite()
        self.flow = flow_net
        self.encoder = Encoder(in_channels=in_channels, num_feat=num_feat, num_blocks=num_blocks,
                               num_layers=num_layers, bidirectional=(layout == "official"), carry=carry)
        self.attention = LocalAttention(num_feat=num_feat, radius=radius)
        self.decoder = Decoder(in_channels=in_channels, num_feat=num_feat, num_blocks=num_blocks,
                               num_layers=num_layers, scale=scale, carry=carry)
        self.head = build_head(task, num_feat=num_feat, in_channels=in_channels, scale=scale, upsample=upsample)

    # ----- one decoder step, shared by both layouts -------------------------------------------------------
    def decode_step(self, states: list[torch.Tensor], u: torch.Tensor, candidates: torch.Tensor,
                    x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """Eqs. (4)-(7) at frame i, everything already aligned with frame i.

        states: the decoder's carried states of step i-1, warped (Eq. 8); u: re-embedded, warped y_{i-1}
        `(B, C, H, W)`; candidates `(B, 2r+1, C, H, W)`; x: LQ frame x_i `(B, C_in, H, W)`.
        Returns (the states carried to step i+1, y_i `(B, C_in, sH, sW)`, alpha `(B, 2r+1, C, H, W)`).
        """
        context, alpha = self.attention(states[-1], candidates)  # query s_{i-1}, Eq. (7)
        s_i, states = self.decoder.step(states, u, context)      # Eq. (4), s_i = F_r(s_{i-1}, y_{i-1}, c_i)
        return states, self.head(s_i, x), alpha                  # y_i = F_f(s_i)

    # ----- paper layout: explicit streaming steps ----------------------------------------------------------
    def init_stream(self, keep_attention: bool = False, compact: bool = False) -> StreamState:
        """A fresh state for :meth:`stream_step` (paper layout only).

        `compact`: between frames, hold the decoder's re-embedding of y_{i-1} `(B, C, H, W)`, computed as soon as
        y_{i-1} is, instead of y_{i-1} `(B, C_in, sH, sW)`, where it is smaller (C < C_in s^2: x4 SR up to C = 47
        for RGB). The same numbers either way (the same convolutions of the same y_{i-1}, only earlier), for one
        more embedding per stream, the last output's; many states held at once (tiles) then take less memory."""
        if self.layout != "paper":
            raise RuntimeError("streaming needs layout='paper' (the official layout needs the whole clip)")
        return StreamState(keep_attention=keep_attention,
                           compact=compact and self.num_feat < self.in_channels * self.scale ** 2)

    def stream_step(self, state: StreamState, frame: torch.Tensor, flows=None) -> list[torch.Tensor]:
        """Feed the next LQ frame x_t `(B, C_in, H, W)` in [0, 1]; return the frames now ready: y_{t-r}
        `(B, C_in, sH, sW)` once its r look-ahead latents exist, so 0 or 1 of them.

        `flows`: (F_o(x_{t-1}, x_t), F_o(x_t, x_{t-1})) computed beforehand (a frozen flow net run once per
        training clip, `s2svr.train.flow_bank`), instead of running the flow net here."""
        t = state.num_in
        enc_states = None
        if t > 0:
            if flows is not None:
                flow_fw, flow_bw = flows
            else:
                flow_fw, flow_bw = estimate_flow_pair(self.flow, state.prev_frame, frame, self.flow_size,
                                                      with_fw=self.radius > 0)
            state.flow_bw[t] = flow_bw
            if flow_fw is not None:
                state.flow_fw[t - 1] = flow_fw
            enc_states = warp_states(state.enc_states, flow_bw)  # Eq. (8)
        z, state.enc_states = self.encoder.step(enc_states, frame)  # Eq. (1)
        if t == 0:
            state.dec_init = state.enc_states
        state.latents[t], state.frames[t] = z, frame
        state.prev_frame = frame
        state.num_in = t + 1
        return [self._stream_decode(state)] if t - self.radius >= 0 else []

    def stream_flush(self, state: StreamState) -> list[torch.Tensor]:
        """End of the video: restore the last r frames (their missing look-ahead neighbours = the centre)."""
        return [self._stream_decode(state) for _ in range(state.num_out, state.num_in)]

    def _stream_decode(self, state: StreamState) -> torch.Tensor:
        i = state.num_out
        if i == 0:
            states, u = state.dec_init, state.latents[0]  # choices: s_{-1} = z_0^l, y_{-1} -> z_0 (module doc)
            state.dec_init = None
        else:
            flow = state.flow_bw[i]
            states = warp_states(state.dec_states, flow)
            embedded = state.prev_embedded if state.compact else self.decoder.embed_output(state.prev_output)
            u = flow_warp(embedded, flow)
        candidates = align_window(state.latents, i, self.radius, state.flow_bw, state.flow_fw)
        state.dec_states, y, alpha = self.decode_step(states, u, candidates, state.frames[i])
        if state.compact:  # y is the caller's; only its re-embedding is read at the next frame
            state.prev_embedded = self.decoder.embed_output(y)
        else:
            state.prev_output = y
        if state.keep_attention:
            state.attention.append(alpha)
        state.num_out = i + 1
        # Frames before i+1-r are never looked at again: forget them so memory stays constant.
        for d in (state.latents, state.frames, state.flow_bw, state.flow_fw):
            for k in [k for k in d if k < i + 1 - self.radius]:
                del d[k]
        return y

    def stream(self, frames: Iterable[torch.Tensor], grad: bool = False) -> Iterator[torch.Tensor]:
        """Restore a video given as an iterable of LQ frames `(B, C_in, H, W)`; yields restored frames
        `(B, C_in, sH, sW)` in order, each r frames after its input, with memory independent of the length.
        Runs without autograd unless `grad=True` (a graph over the whole stream would grow with it)."""
        state = self.init_stream()
        for frame in frames:
            with torch.set_grad_enabled(grad):  # entered per call: a generator must not leave grad mode changed
                ready = self.stream_step(state, frame)
            yield from ready
        with torch.set_grad_enabled(grad):
            ready = self.stream_flush(state)
        yield from ready

    # ----- official layout: whole clip ----------------------------------------------------------------------
    def _forward_official(self, frames_lq: torch.Tensor, flows=None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        b, t, c, h, w = frames_lq.shape
        if t > 1 and flows is not None:
            flow_fw, flow_bw = flows
        elif t > 1:
            flow_fw, flow_bw = estimate_flows(self.flow, frames_lq, self.flow_size)  # (B, T-1, 2, H, W) each
        else:
            flow_fw = flow_bw = frames_lq.new_zeros(b, 0, 2, h, w)
        latents, states = self.encoder(frames_lq, flow_fw, flow_bw)
        z = dict(enumerate(latents))
        fw = {k: flow_fw[:, k] for k in range(t - 1)}
        bw = {k + 1: flow_bw[:, k] for k in range(t - 1)}
        outputs, alphas = [None] * t, [None] * t
        u = latents[-1]  # first decoder step: the top encoder output
        for i in range(t - 1, -1, -1):  # the decoder runs in reverse time
            if i < t - 1:
                states = warp_states(states, fw[i])  # frame i+1 -> frame i
                u = flow_warp(self.decoder.embed_output(outputs[i + 1]), fw[i])
            states, outputs[i], alphas[i] = self.decode_step(states, u, align_window(z, i, self.radius, bw, fw),
                                                             frames_lq[:, i])
        return outputs, alphas

    def forward(self, frames_lq: torch.Tensor, return_attention: bool = False, flows=None):
        """frames_lq `(B, T, C_in, H, W)` in [0, 1] -> restored `(B, T, C_in, sH, sW)` (not clamped).

        With `return_attention=True` also returns alpha `(B, T, 2r+1, C, H, W)`, in frame order.
        `flows`: `(flow_fw, flow_bw)`, each `(B, T-1, 2, H, W)` as `s2svr.models.motion.estimate_flows` returns
        them, computed beforehand (training with a frozen flow net); default: the flow net runs here.
        """
        if frames_lq.dim() != 5 or frames_lq.shape[2] != self.in_channels:
            raise ValueError(f"expected frames_lq (B, T, {self.in_channels}, H, W), got {tuple(frames_lq.shape)}")
        check_flows(flows, frames_lq)
        if self.layout == "official":
            outputs, alphas = self._forward_official(frames_lq, flows)
        else:
            state = self.init_stream(keep_attention=return_attention)
            outputs = []
            for i in range(frames_lq.shape[1]):
                pair = None if flows is None or i == 0 else (flows[0][:, i - 1], flows[1][:, i - 1])
                outputs += self.stream_step(state, frames_lq[:, i], flows=pair)
            outputs += self.stream_flush(state)
            alphas = state.attention
        out = torch.stack(outputs, dim=1)  # (B, T, C_in, sH, sW)
        return (out, torch.stack(alphas, dim=1)) if return_attention else out

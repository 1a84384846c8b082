"""The encoder F_e of Eq. (1): a shallow feature embedding followed by `num_layers` ResConvGRU layers.

Explained in `notebooks/encoder_decoder.py` (the two temporal layouts
in `notebooks/motion.py`).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from ..flow.warp import flow_warp
from .convgru import ResConvGRU


class Encoder(nn.Module):
    """z_i = F_e(z_{i-1}, x_i), Eq. (1), with F_e a stack of ResConvGRU layers, Eq. (9).

    The frame x_i `(B, in_channels, H, W)` is first embedded by one 3x3 convolution + LeakyReLU(0.1) to
    `num_feat` channels, so that the inter-layer residual of Eq. (9) also applies to the first layer.
    The latent z_i handed to the local attention is the top layer's output z_i^L.

    Layouts:

    - `bidirectional=False` (`paper` layout): every layer runs forward in time; use :meth:`step` frame by frame.
    - `bidirectional=True` (`official` layout, public code): layer 1 also runs backward in time, and its backward
      pass is fused with the forward state right after the ConvGRU by concat + 3x3 conv + LeakyReLU(0.1);
      layers 2..L run forward on the fused outputs. Use :meth:`forward` on the whole clip.

    Args:
        in_channels: channels of the LQ frames (3 RGB, 1 Y).
        num_feat: channels C of every state.
        num_blocks: residual blocks after each ConvGRU.
        num_layers: stacked ResConvGRU layers L.
        bidirectional: add the backward pass of layer 1 (official layout).
        carry: what each layer carries to the next frame, its output, F_b's or F_g's (`s2svr.models.convgru.ResConvGRU`).
    """

    def __init__(self, in_channels: int, num_feat: int, num_blocks: int, num_layers: int,
                 bidirectional: bool = False, carry: str = "output"):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.num_feat = num_feat
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.embed = nn.Sequential(nn.Conv2d(in_channels, num_feat, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True))
        self.layers = nn.ModuleList([ResConvGRU(num_feat, num_feat, num_blocks, carry) for _ in range(num_layers)])
        if bidirectional:
            self.backward_layer = ResConvGRU(num_feat, num_feat, num_blocks, carry)
            self.fusion = nn.Sequential(nn.Conv2d(2 * num_feat, num_feat, 3, 1, 1), nn.LeakyReLU(0.1, inplace=True))

    def zero_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """All states start at zero (public code); x `(B, C_in, H, W)` gives batch, size, device and dtype."""
        b, _, h, w = x.shape
        return [x.new_zeros(b, self.num_feat, h, w) for _ in range(self.num_layers)]

    def step(self, states: Sequence[torch.Tensor] | None, x: torch.Tensor
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One time step of the forward-in-time encoder (paper layout).

        states: the states h_{i-1}^l carried by layers l = 1..L (with `carry='output'`, their outputs z_{i-1}^l),
        already warped to frame i by Eq. (8), or None at the first frame.
        x: the LQ frame x_i `(B, in_channels, H, W)`.
        Returns (z_i, [h_i^1, ..., h_i^L]): the top layer's output z_i^L, the latent z_i of Eq. (1), and the
        states carried to frame i+1, each `(B, C, H, W)`.
        """
        if self.bidirectional:
            raise RuntimeError("a bidirectional encoder needs the whole clip: call forward()")
        if states is None:
            states = self.zero_states(x)
        inp = self.embed(x)
        out = []
        for layer, state in zip(self.layers, states):
            inp, carried = layer.step(state, inp)  # Eq. (9)
            out.append(carried)
        return inp, out

    def _backward_step(self, state: torch.Tensor, inp: torch.Tensor, state_fw: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer 1, backward in time (official layout): the forward state joins between F_g and F_b of Eq. (9).
        Returns (output, carried state), as `ResConvGRU.step`."""
        layer = self.backward_layer
        gru = layer.gru(state, inp)
        block = layer.blocks(self.fusion(torch.cat((gru, state_fw), dim=1)))
        out = inp + block
        return out, layer.carried(out, block, gru)

    def forward(self, frames_lq: torch.Tensor, flow_fw: torch.Tensor, flow_bw: torch.Tensor
                ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Encode a whole clip.

        frames_lq `(B, T, C_in, H, W)`; flow_fw, flow_bw `(B, T-1, 2, H, W)` as returned by
        `s2svr.models.motion.estimate_flows`.
        Returns (latents, last_states): latents = [z_0, ..., z_{T-1}] (top layer, each `(B, C, H, W)`);
        last_states = the state every layer carries from the last frame (for layer 1 of the bidirectional encoder:
        its forward pass), which initialises the decoder of the official layout.
        """
        b, t, c, h, w = frames_lq.shape
        inputs = list(self.embed(frames_lq.flatten(0, 1)).view(b, t, self.num_feat, h, w).unbind(1))
        last_states = []
        for idx, layer in enumerate(self.layers):
            state = inputs[0].new_zeros(b, self.num_feat, h, w)
            outputs = []
            for i in range(t):
                if i > 0:
                    state = flow_warp(state, flow_bw[:, i - 1])  # Eq. (8): frame i-1 -> frame i
                out, state = layer.step(state, inputs[i])
                outputs.append(out)
            last_states.append(state)
            if idx == 0 and self.bidirectional:
                state = inputs[0].new_zeros(b, self.num_feat, h, w)
                backward = [None] * t
                for i in range(t - 1, -1, -1):
                    if i < t - 1:
                        state = flow_warp(state, flow_fw[:, i])  # frame i+1 -> frame i
                    backward[i], state = self._backward_step(state, inputs[i], outputs[i])
                outputs = backward
            inputs = outputs
        return inputs, last_states

"""The decoder's recurrent part F_r of Eqs. (3)-(4) and the re-embedding of its previous output y_{i-1}.

Explained in `notebooks/encoder_decoder.py`. The feed-forward
network F_f that turns s_i into y_i is the task head (`s2svr.models.heads`); the context c_i comes from
`s2svr.models.attention.LocalAttention`; the network (`s2svr.models.network.S2SVR`) orders the steps.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn

from .convgru import ResConvGRU


class OutputEmbedding(nn.Module):
    """Re-embeds the previous restored frame y_{i-1} `(B, in_channels, s*H, s*W)` to `(B, C, H, W)`.

    Four convolutions with LeakyReLU(0.1), widths in -> C/2 -> C -> 2C -> C (public code); for x`scale` SR the
    middle two are 5x5 with stride 2 (4x down for scale 4), otherwise all are 3x3 with stride 1.
    """

    def __init__(self, in_channels: int, num_feat: int, scale: int = 1):
        super().__init__()
        n_down = int(round(math.log2(scale)))
        if 2 ** n_down != scale or n_down > 2:
            raise ValueError(f"scale must be 1, 2 or 4, got {scale}")
        widths = [in_channels, num_feat // 2, num_feat, 2 * num_feat, num_feat]
        layers = []
        for k in range(4):
            kernel = 5 if (scale > 1 and k in (1, 2)) else 3  # the two middle convs of SR see a wider window
            stride = 2 if 1 <= k <= n_down else 1
            layers += [nn.Conv2d(widths[k], widths[k + 1], kernel, stride, kernel // 2),
                       nn.LeakyReLU(0.1, inplace=True)]
        self.body = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.body(y)


class Decoder(nn.Module):
    """s_i = F_r(s_{i-1}, y_{i-1}, c_i), Eq. (4), with F_r a stack of `num_layers` ResConvGRU layers.

    Layer l receives [s_i^{l-1}, c_i] (2C channels: the context is offered to every layer, as the public code
    fuses it into every layer after the first) and adds s_i^{l-1} back as the inter-layer residual of Eq. (9):

        s_i^l = s_i^{l-1} + F_b(F_g(s_hat_{i-1}^l, [s_i^{l-1}, c_i])),      s_i^0 = u_i

    where u_i is the warped re-embedding of y_{i-1} (:meth:`embed_output`, then Eq. (8)) and s_hat the states
    warped by Eq. (8). The decoder state s_i handed to the head and to the next attention query is s_i^L.

    Args:
        in_channels: channels of the frames (3 RGB, 1 Y).
        num_feat: channels C.
        num_blocks: residual blocks after each ConvGRU.
        num_layers: stacked layers L.
        scale: SR factor; the re-embedding of y_{i-1} strides down by it.
        carry: what each layer carries to the next frame, its output, F_b's or F_g's (`s2svr.models.convgru.ResConvGRU`).
    """

    def __init__(self, in_channels: int, num_feat: int, num_blocks: int, num_layers: int, scale: int = 1,
                 carry: str = "output"):
        super().__init__()
        self.num_feat = num_feat
        self.num_layers = num_layers
        self.embed_output = OutputEmbedding(in_channels, num_feat, scale)
        self.layers = nn.ModuleList([ResConvGRU(2 * num_feat, num_feat, num_blocks, carry) for _ in range(num_layers)])

    def step(self, states: Sequence[torch.Tensor], u: torch.Tensor, context: torch.Tensor
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One decoding step.

        states: the states the layers carry from step i-1 (with `carry='output'`, their outputs s_{i-1}^l),
        l = 1..L, already warped to frame i (Eq. 8), each `(B, C, H, W)`.
        u: the previous output re-embedded and warped to frame i `(B, C, H, W)` (or its stand-in at the first step).
        context: c_i `(B, C, H, W)`, Eq. (5).
        Returns (s_i, the states carried to step i+1): s_i = s_i^L, the top layer's output.
        """
        inp = u
        out = []
        for layer, state in zip(self.layers, states):
            inp, carried = layer.step(state, torch.cat((inp, context), dim=1), residual=inp)
            out.append(carried)
        return inp, out

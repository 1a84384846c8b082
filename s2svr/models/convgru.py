"""ConvGRU and the residual stacked ConvGRU (ResConvGRU) of Sec. 3.2, Eq. (9).

Explained in `notebooks/convgru.py`.
Every recurrent unit of the encoder (Eq. 1) and of the decoder (Eq. 4) is a ResConvGRU.
Feature maps are `(B, C, H, W)` with `C = num_feat`; no value range is imposed on them.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class ConvGRU(nn.Module):
    """Convolutional GRU cell F_g of Eq. (9).

    With h_{t-1} the state and x_t the input (`*` a 3x3 convolution, `[.,.]` channel concatenation):

        z_t = sigmoid(W_z * [h_{t-1}, x_t])              (update gate; not the latent z of Eq. 1)
        r_t = sigmoid(W_r * [h_{t-1}, x_t])              (reset gate)
        q_t = tanh(W_q * [r_t . h_{t-1}, x_t])            (candidate state)
        h_t = (1 - z_t) . h_{t-1} + z_t . q_t

    Args:
        in_channels: channels of the input x_t.
        num_feat: channels of the state h (= of the output).
    """

    def __init__(self, in_channels: int, num_feat: int):
        super().__init__()
        self.in_channels = in_channels
        self.num_feat = num_feat
        self.conv_z = nn.Conv2d(num_feat + in_channels, num_feat, 3, 1, 1)
        self.conv_r = nn.Conv2d(num_feat + in_channels, num_feat, 3, 1, 1)
        self.conv_q = nn.Conv2d(num_feat + in_channels, num_feat, 3, 1, 1)

    def forward(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """state `(B, num_feat, H, W)`, x `(B, in_channels, H, W)` -> new state `(B, num_feat, H, W)`."""
        hx = torch.cat((state, x), dim=1)
        z = torch.sigmoid(self.conv_z(hx))
        r = torch.sigmoid(self.conv_r(hx))
        q = torch.tanh(self.conv_q(torch.cat((r * state, x), dim=1)))
        return (1 - z) * state + z * q


class ResidualBlock(nn.Module):
    """x + conv(relu(conv(x))): a residual block without normalisation (one unit of F_b in Eq. 9)."""

    def __init__(self, num_feat: int, init_scale: float = 0.1):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        # Deep stacks (num_blocks x num_layers x 2 of them) start close to identity: scaled Kaiming init, as in
        # BasicSR/EDVR, keeps the recurrent states from growing at the first iterations.
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in")
            conv.weight.data.mul_(init_scale)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x)))


CARRIES = ("output", "block", "gru")


class ResConvGRU(nn.Module):
    """One layer of the residual stacked ConvGRU, Eq. (9):

        z_t^l = z_t^{l-1} + F_b(F_g(h_{t-1}^l, z_t^{l-1}))

    F_g is a :class:`ConvGRU`, F_b is `num_blocks` :class:`ResidualBlock`. What layer l carries to the next frame,
    h_t^l, is set by `carry`:

    - 'output': its output, h_t^l = z_t^l (the inter-layer residual included), as Eq. (9) is written. Each step
      adds the layer's input to a state that the GRU mostly keeps, so the state can grow with the frame index:
      the cpu models trained on 5-frame clips fail on longer ones (the book's chapter "Restorer study").
    - 'block': F_b's output alone, h_t^l = F_b(F_g(...)), the residual going only up the stack, as the public
      code's encoder carries it (`S2SVR_util.py`: `hidden_state = layer(hidden_state, input_i)`, then
      `input_i = input_i + hidden_state`).
    - 'gru': F_g's own state, h_t^l = F_g(h_{t-1}^l, z_t^{l-1}), as a ConvGRU carries it and as the public code's
      decoder does. A convex combination of the previous state and a tanh, it stays within [-1, 1] from zero
      states over any number of frames (bilinear warping keeps the bound): no frame index can make it grow.

    The inter-layer residual z_t^{l-1} is added when `in_channels == num_feat`; a layer whose input is wider (the
    decoder concatenates the context c_i) passes the residual explicitly.

    Args:
        in_channels: channels of the layer input z_t^{l-1}.
        num_feat: channels C of the state.
        num_blocks: residual blocks in F_b.
        carry: 'output', 'block' or 'gru', above.
    """

    def __init__(self, in_channels: int, num_feat: int, num_blocks: int, carry: str = "output"):
        super().__init__()
        if carry not in CARRIES:
            raise ValueError(f"carry must be one of {CARRIES}, got {carry!r}")
        self.in_channels = in_channels
        self.num_feat = num_feat
        self.carry = carry
        self.gru = ConvGRU(in_channels, num_feat)
        self.blocks = nn.Sequential(*[ResidualBlock(num_feat) for _ in range(num_blocks)])

    def step(self, state: torch.Tensor, x: torch.Tensor, residual: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """state h_{t-1}^l `(B, C, H, W)` (already motion-compensated, Eq. 8), x `(B, in_channels, H, W)`.

        residual: `(B, C, H, W)` added to the output; default x itself when `in_channels == num_feat`, else none.
        Returns (z_t^l, h_t^l), each `(B, C, H, W)`: the output handed up the stack and the state carried on.
        """
        gru = self.gru(state, x)
        block = self.blocks(gru)
        if residual is None and self.in_channels == self.num_feat:
            residual = x
        out = block if residual is None else block + residual
        return out, self.carried(out, block, gru)

    def carried(self, out: torch.Tensor, block: torch.Tensor, gru: torch.Tensor) -> torch.Tensor:
        """The state h_t^l carried to the next frame (`carry`): the layer's output z_t^l, F_b's output, or F_g's."""
        return {"output": out, "block": block, "gru": gru}[self.carry]

    def forward(self, state: torch.Tensor, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """z_t^l of :meth:`step` (the output alone)."""
        return self.step(state, x, residual)[0]

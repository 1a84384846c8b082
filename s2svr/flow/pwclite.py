"""PWC-Lite, the unsupervised optical-flow network of ARFlow (Liu et al., 2020) used by S2SVR (Sec. 3.3, Alg. 1).

Explained in `notebooks/pwclite.py`. Architecture facts (ARFlow,
its public models/pwclite.py, 2-frame model, reduce_dense):

* feature pyramid 3->16->32->64->96->128->192: six stride-2 stages of two 3x3 convs + LeakyReLU(0.1);
* coarse-to-fine decoding from 1/64 to 1/4 (5 levels): at each level the second frame's features are
  backward-warped by the upsampled flow, an 81-channel cost volume (search range 4) is built, and
* ONE flow estimator (128, 128, 96, 64, 32 with the "reduced dense" connections) and ONE dilated context
  network (dilations 1, 2, 4, 8, 16, 1) are shared by all levels; this is possible because a 1x1 conv per
  level first reduces that level's features to 32 channels, so every level feeds 81 + 32 + 2 = 115 channels;
* each level's flow is upsampled x4 (vectors x4) - the finest one to the input size.

Total: 2,236,660 parameters (`count_parameters(PWCLite())`). Inputs are frames in [0, 1] with no mean
subtraction, as ARFlow feeds them (its transforms only divide by 255).

`cost_norm=True` (not ARFlow's PWC-Lite; UFlow's cost volume): before each correlation both frames' features are
centred by their joint per-channel spatial mean and L2-normalised per pixel, so the cost volume is a cosine
similarity in [-1, 1]. Untrained, the raw volume is dominated by the features' shared mean and magnitude, and
PWC-Lite learns one global flow that ignores it; normalised, it leaves that plateau within a few hundred steps
(measured in `notebooks/distillation.py`).

Any input size works: the frames are bilinearly RESIZED (not padded) to the next multiple of 64 (at least
64) so that the six stride-2 stages divide exactly, and `forward` resizes the flow back with `resize_flow`,
which rescales the vectors. Padding would put zero borders inside the photometric loss; resizing does not.

How the network is run (the zoom of its frames, padding instead of resizing, a size cap) is not part of what it is:
`arch()` holds its layers only, and `forward` runs it as its `use` says (`s2svr.flow.use.FlowUse`, applied by
`s2svr.flow.use.run_flow`). Whoever builds or loads a net for use sets `use` (`build_flow_net` from a config,
`load_flow_net` from a checkpoint, which records the use it trained at); training (`forward_pyramid`) zooms the
frames by `use.zoom` and never pads.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .correlation import correlation
from .use import FlowUse, run_flow
from .warp import flow_warp

PYRAMID_CHANNELS = (3, 16, 32, 64, 96, 128, 192)
NUM_DECODE_LEVELS = 5  # 1/64, 1/32, 1/16, 1/8, 1/4
MULTIPLE = 64  # 2 ** 6 stride-2 stages
REDUCED_CHANNELS = 32
FLOW_HEAD_INIT_SCALE = 0.01  # see PWCLite.init_weights


def conv(c_in: int, c_out: int, kernel_size: int = 3, stride: int = 1, dilation: int = 1,
         relu: bool = True) -> nn.Sequential:
    """Conv2d ('same' padding for odd kernels) with bias, optionally followed by LeakyReLU(0.1).

    Always a Sequential so that parameter names (`<name>.0.weight`) line up with ARFlow checkpoints.
    """
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel_size, stride=stride, dilation=dilation,
                                         padding=(kernel_size - 1) * dilation // 2, bias=True)]
    if relu:
        layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers)


class FeaturePyramid(nn.Module):
    """Six stride-2 stages; returns the features coarsest first: [1/64 (192 ch), ..., 1/2 (16 ch)]."""

    def __init__(self, channels: Sequence[int] = PYRAMID_CHANNELS):
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(conv(c_in, c_out, stride=2), conv(c_out, c_out))
            for c_in, c_out in zip(channels[:-1], channels[1:]))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)  # (B, C_l, H / 2^l, W / 2^l)
            feats.append(x)
        return feats[::-1]


class FlowEstimator(nn.Module):
    """ARFlow's `FlowEstimatorReduce`: 128, 128, 96, 64, 32 convs, each fed the two previous outputs.

    The full DenseNet estimator of PWC-Net concatenates every earlier output; keeping only the last two
    is what ARFlow calls "reduce_dense" (about 25% less training time). Returns (32-ch features, flow residual).
    """

    def __init__(self, c_in: int):
        super().__init__()
        self.conv1 = conv(c_in, 128)
        self.conv2 = conv(128, 128)
        self.conv3 = conv(128 + 128, 96)
        self.conv4 = conv(128 + 96, 64)
        self.conv5 = conv(96 + 64, 32)
        self.predict_flow = conv(64 + 32, 2, relu=False)
        self.feat_dim = 32

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x1 = self.conv1(x)
        x2 = self.conv2(x1)
        x3 = self.conv3(torch.cat([x1, x2], 1))
        x4 = self.conv4(torch.cat([x2, x3], 1))
        x5 = self.conv5(torch.cat([x3, x4], 1))  # (B, 32, h, w)
        return x5, self.predict_flow(torch.cat([x4, x5], 1))  # (B, 2, h, w)


class ContextNetwork(nn.Module):
    """Dilated convs (dilations 1, 2, 4, 8, 16, 1) that refine the flow with a large receptive field."""

    def __init__(self, c_in: int):
        super().__init__()
        specs = [(c_in, 128, 1), (128, 128, 2), (128, 128, 4), (128, 96, 8), (96, 64, 16), (64, 32, 1)]
        self.convs = nn.Sequential(*[conv(a, b, dilation=d) for a, b, d in specs], conv(32, 2, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x)  # (B, 2, h, w)


def normalise_features(f1: torch.Tensor, f2: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre two `(B, C, h, w)` feature maps by their joint per-channel mean, then L2-normalise each pixel."""
    mean = 0.5 * (f1.mean((2, 3), keepdim=True) + f2.mean((2, 3), keepdim=True))  # (B, C, 1, 1)
    f1, f2 = f1 - mean, f2 - mean
    return (f1 / f1.norm(dim=1, keepdim=True).clamp_min(eps), f2 / f2.norm(dim=1, keepdim=True).clamp_min(eps))


class PWCLite(nn.Module):
    """PWC-Lite flow network; see the module docstring for the architecture and the size handling."""

    def __init__(self, search_range: int = 4, cost_norm: bool = False):
        super().__init__()
        self.search_range = int(search_range)
        self.cost_norm = bool(cost_norm)
        # how `forward` runs it (zoom, padding, size cap): set by whoever builds or loads it for use, never in `arch`
        self.use = FlowUse()
        dim_corr = (2 * self.search_range + 1) ** 2
        self.feature_pyramid = FeaturePyramid(PYRAMID_CHANNELS)
        # one 1x1 reduction per decoded level, coarsest first: 192, 128, 96, 64, 32 -> 32
        self.conv_1x1 = nn.ModuleList(
            conv(c, REDUCED_CHANNELS, kernel_size=1)
            for c in PYRAMID_CHANNELS[::-1][:NUM_DECODE_LEVELS])
        self.flow_estimator = FlowEstimator(dim_corr + REDUCED_CHANNELS + 2)
        self.context_network = ContextNetwork(self.flow_estimator.feat_dim + 2)
        self.init_weights()

    def arch(self) -> dict:
        """The constructor arguments, its layers only, stored in checkpoints so that a loader rebuilds the same
        network (how it runs is `use`, recorded apart)."""
        return {"search_range": self.search_range, "cost_norm": self.cost_norm}

    def using(self, use: FlowUse | None = None, **changes) -> "PWCLite":
        """Set how `forward` runs this net (`use`, or the current use with `changes`: `net.using(zoom=4.0)`);
        returns the net."""
        self.use = (use if use is not None else self.use).but(**changes)
        return self

    @torch.no_grad()
    def init_weights(self) -> None:
        """Kaiming-normal convs (LeakyReLU slope 0.1), zero biases, flow-output convs scaled down.

        ARFlow meant to do this, but iterated over `named_modules()` tuples, so its isinstance test never
        matched and PyTorch's default init stayed; here it runs (the tests check the biases are zero).
        """
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0.1, nonlinearity="leaky_relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        # The two convs that output flow (residuals added over 5 levels, x2 each time) would start at tens to
        # hundreds of pixels under plain kaiming; x0.01 starts near zero flow (~0.1 px) while, unlike a zero
        # init, gradients still reach every earlier layer on the first step.
        for head in (self.flow_estimator.predict_flow[0], self.context_network.convs[-1][0]):
            head.weight.mul_(FLOW_HEAD_INIT_SCALE)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _prepare(img1: torch.Tensor, img2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if img1.dim() != 4 or img1.shape != img2.shape:
            raise ValueError(f"PWCLite expects two equal (B,C,H,W) frames, got {tuple(img1.shape)} and {tuple(img2.shape)}")
        if img1.shape[1] == 1:  # Y channel (compressed-video task): grey RGB
            img1, img2 = img1.expand(-1, 3, -1, -1), img2.expand(-1, 3, -1, -1)
        elif img1.shape[1] != 3:
            raise ValueError(f"PWCLite expects 1 or 3 channels, got {img1.shape[1]}")
        return img1, img2

    @staticmethod
    def network_size(h: int, w: int) -> tuple[int, int]:
        """The size the network works at for an (h, w) input: the next multiple of 64, at least 64."""
        return (max(MULTIPLE, math.ceil(h / MULTIPLE) * MULTIPLE),
                max(MULTIPLE, math.ceil(w / MULTIPLE) * MULTIPLE))

    def _decode(self, pyr1: list[torch.Tensor], pyr2: list[torch.Tensor]) -> list[torch.Tensor]:
        """Coarse-to-fine flow from pyr1's frame to pyr2's frame; returns [1/64 ... 1/4] flows."""
        flows = []
        flow = None
        for level in range(NUM_DECODE_LEVELS):
            x1, x2 = pyr1[level], pyr2[level]  # (B, C_l, h, w)
            if flow is None:
                flow = x1.new_zeros(x1.shape[0], 2, *x1.shape[-2:])
                x2_warp = x2
            else:
                # align_corners=True and vectors x2, as ARFlow (so its checkpoints see what they were trained on)
                flow = 2.0 * F.interpolate(flow, size=x1.shape[-2:], mode="bilinear", align_corners=True)
                x2_warp = flow_warp(x2, flow)
            if self.cost_norm:
                x1c, x2c = normalise_features(x1, x2_warp)
                cost = correlation(x1c, x2c, self.search_range) * x1.shape[1]  # cosine similarity
            else:
                cost = correlation(x1, x2_warp, self.search_range)
            cost = F.leaky_relu(cost, 0.1)  # (B, 81, h, w)
            feat, flow_res = self.flow_estimator(torch.cat([cost, self.conv_1x1[level](x1), flow], 1))
            flow = flow + flow_res
            flow = flow + self.context_network(torch.cat([feat, flow], 1))
            flows.append(flow)
        return flows

    # ------------------------------------------------------------------ public API
    def forward_pyramid(self, img1: torch.Tensor, img2: torch.Tensor, with_bw: bool = False) -> dict:
        """Flows at every decoded level, for the unsupervised losses (Eq. 11, 13).

        Args:
            img1, img2: `(B, 3 or 1, H, W)` in [0, 1].
        Returns:
            {'flows_fw': [finest, ..., coarsest] five `(B, 2, h_l, w_l)` flows in pixels of their own
            resolution; finest = `size`, then /2, /4, /8, /16 (each level's 1/4..1/64 flow upsampled x4);
            'flows_bw': same from img2 to img1 (only if with_bw);
            'size': (h, w) the network worked at = `network_size(zoom H, zoom W)` (zoom = `use.zoom`, the training
            zoom), equal to (H, W) when zoom = 1
            and H and W are multiples of 64. Losses should resize the frames to each flow's size (ARFlow uses
            'area').}
        """
        imgs, _ = self.network_input(img1, img2, pad=False, zoom=self.use.zoom)
        return self.pyramid_flows(imgs, with_bw)

    def network_input(self, img1: torch.Tensor, img2: torch.Tensor, pad: bool, zoom: float) -> tuple[torch.Tensor, tuple]:
        """The two frames stacked `(2B, 3, h, w)` at the size the network works at, and the zoomed size `(zh, zw)`
        they fill: zoomed by `zoom` and resized to `network_size` (pad=False, training), or zoomed exactly and padded
        with their border up to it (pad=True, `use.pad` in use); the flows of `(zh, zw)` are the frames' own."""
        img1, img2 = self._prepare(img1, img2)
        h, w = img1.shape[-2:]
        zoomed = (max(1, round(h * zoom)), max(1, round(w * zoom)))
        size = self.network_size(*zoomed)
        imgs = torch.cat([img1, img2], 0)  # (2B, 3, H, W): one pyramid pass for both frames
        target = zoomed if pad else size
        if (h, w) != target:
            imgs = F.interpolate(imgs, size=target, mode="bilinear", align_corners=False)
        if pad and zoomed != size:
            imgs = F.pad(imgs, (0, size[1] - zoomed[1], 0, size[0] - zoomed[0]), mode="replicate")
        return imgs, (zoomed if pad else size)

    def pyramid_flows(self, imgs: torch.Tensor, with_bw: bool) -> dict:
        """`forward_pyramid`'s output for the two frames stacked `(2B, 3, h, w)`, h and w multiples of 64."""
        b = imgs.shape[0] // 2
        pyr = self.feature_pyramid(imgs)
        pyr1, pyr2 = [p[:b] for p in pyr], [p[b:] for p in pyr]
        if with_bw:  # batch fw and bw through the shared decoder
            flows = self._decode([torch.cat([p1, p2], 0) for p1, p2 in zip(pyr1, pyr2)],
                                 [torch.cat([p2, p1], 0) for p1, p2 in zip(pyr1, pyr2)])
        else:
            flows = self._decode(pyr1, pyr2)
        flows = [4.0 * F.interpolate(f, scale_factor=4, mode="bilinear", align_corners=True)
                 for f in flows[::-1]]  # finest first
        out = {"flows_fw": [f[:b] for f in flows], "size": tuple(imgs.shape[-2:])}
        if with_bw:
            out["flows_bw"] = [f[b:] for f in flows]
        return out

    def forward(self, img1: torch.Tensor, img2: torch.Tensor, with_bw: bool = False, work_size=None,
                zoom: float | None = None):
        """Flow from img1 to img2 at input size, run as `use` says: `s2svr.flow.use.run_flow` (its arguments)."""
        return run_flow(self, img1, img2, self.use, with_bw=with_bw, work_size=work_size, zoom=zoom)

    # ------------------------------------------------------------------ ARFlow checkpoints
    ARFLOW_PREFIXES = (("feature_pyramid_extractor.convs.", "feature_pyramid.stages."),
                       ("flow_estimators.", "flow_estimator."),
                       ("context_networks.", "context_network."),
                       ("conv_1x1.", "conv_1x1."))

    @classmethod
    def arflow_to_s2svr_keys(cls, state: dict) -> dict:
        """Rename an ARFlow PWC-Lite state dict (optionally 'module.'-prefixed) to this module's names."""
        out = {}
        for key, value in state.items():
            key = key[len("module."):] if key.startswith("module.") else key
            for theirs, ours in cls.ARFLOW_PREFIXES:
                if key.startswith(theirs):
                    key = ours + key[len(theirs):]
                    break
            out[key] = value
        return out

    def load_arflow_checkpoint(self, path) -> None:
        """Load an ARFlow 2-frame PWC-Lite checkpoint ({'state_dict': ...} or a bare state dict).

        ARFlow's 3-frame models feed the estimator 32 + 2 * 83 channels and will not fit (strict load fails).
        """
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else ckpt
        self.load_state_dict(self.arflow_to_s2svr_keys(state), strict=True)

"""Experiment configs: frozen dataclasses with commented defaults.

Explained in `book/use_train.md` (configs and profiles). One YAML file per experiment
(`sr_reds4`, `sr_vimeo`, `deblur_gopro`, `vqe_mfqe`) holds a base section and a `profiles`
mapping (`paper`, `cpu`, `ci`) of overrides that change only sizes and budgets. `load_config`
merges them into an :class:`ExperimentConfig`; a key that is not a field is an error naming it.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields, replace
from typing import Literal, Optional

TASKS = ("sr", "deblur", "vqe")
LAYOUTS = ("paper", "official")
PROFILES = ("paper", "cpu", "ci")
FLOW_STAGES = ("teacher", "student", "student-nodistill", "supervised")  # Algorithm 1's stages and its controls
ARCHS = ("identity", "single_frame", "basicvsr", "s2svr")  # the input itself, the baselines (s2svr.models.baselines), the network; tables use this order
FLOW_ARCHS = ("basicvsr", "s2svr")  # the archs that run a flow net


@dataclass(frozen=True)
class ModelConfig:
    """The S2SVR network (Sec. 3.1-3.2), or a baseline trained with the same budget (`arch`)."""

    arch: str = "s2svr"           # 's2svr', or a baseline: 'identity', 'single_frame', 'basicvsr' (book part "Experiments")
    task: str = "sr"              # 'sr' (x4 super-resolution), 'deblur' or 'vqe' (compressed video)
    layout: str = "paper"         # 'paper': causal up to `radius` frames; 'official': public code's bidirectional layout
    in_channels: int = 3
    num_feat: int = 64            # feature channels C of every ResConvGRU (64 SR, 48 deblur in the public code)
    num_blocks: int = 13          # residual blocks after each ConvGRU, F_b in Eq. (9)
    num_layers: int = 3           # stacked ResConvGRU layers in the encoder and in the decoder
    radius: int = 1               # local attention radius r, Eq. (5)
    scale: int = 4                # upscaling factor (SR only; 1 for the other tasks)
    flow_size: Optional[int] = 256  # PWC-Lite works at flow_size x flow_size (public code); None = native size
    upsample: str = "bilinear"    # SR global residual: 'bilinear' (public code) or 'bicubic'
    # 'identity': the head's last conv starts at zero, so every model starts as its global residual (the upsampled
    # or degraded input) and learns only the correction (s2svr.models.heads.identity_start); 'default': PyTorch's init
    head_init: str = "default"
    # what each ResConvGRU layer carries to the next frame: 'output' (its output z_t^l, Eq. 9 as written), 'block'
    # (F_b's output alone, the inter-layer residual going only up the stack, as the public code's encoder) or 'gru'
    # (F_g's own state, within [-1, 1], as a ConvGRU and the public code's decoder); S2SVR only
    carry: Literal["output", "block", "gru"] = "output"


def _choices(cls, values, where: str) -> None:
    """Refuse a value outside its field's `Literal[...]` choices: one error naming `where.field`."""
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        hint = hints.get(name)
        if typing.get_origin(hint) is typing.Union:  # Optional[Literal[...]]
            if value is None:
                continue
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        if typing.get_origin(hint) is Literal and value not in typing.get_args(hint):
            raise ValueError(f"{where}.{name} must be one of {typing.get_args(hint)}, got {value!r}")


def _check_choices(obj, where: str) -> None:
    _choices(type(obj), {f.name: getattr(obj, f.name) for f in fields(obj)}, where)


@dataclass(frozen=True)
class FlowNetConfig:
    """The flow network: what its checkpoint's `arch` holds (how it is run is apart: `s2svr.flow.use`)."""

    type: Literal["pwclite", "dis", "farneback"] = "pwclite"  # PWC-Lite, or a classical flow that needs no training
    cost_norm: bool = False       # centre + L2-normalise features before the correlation (UFlow); False = ARFlow's raw one

    def __post_init__(self):
        _check_choices(self, "flow.net")


@dataclass(frozen=True)
class FlowLossConfig:
    """Eqs. (11)-(17): the weighted terms of Algorithm 1's loss (`s2svr.losses.FlowLoss`)."""

    w_ph: float = 0.15            # omega_ph, Eqs. (14) and (17) (= ARFlow's w_l1; it scales the whole photometric term)
    w_sm: float = 50.0            # omega_sm (= ARFlow's w_smooth)
    w_dis: float = 0.1            # omega_dis, Eq. (17)
    # rho of Eq. (11), ARFlow's weights of its three distances: w_ph rho = (w_ph / w_l1) (w_l1 L1 + w_ssim SSIM +
    # w_census census), so the defaults give ARFlow's 0.15 L1 + 0.85 SSIM and w_ssim = 0 the paper's plain 0.15 L1;
    # without L1 (w_l1 = 0) the other two are ARFlow's weights as they are (its stage-1 census: w_census 1).
    w_l1: float = 0.15            # ARFlow's photometric mix: L1 weight ...
    w_ssim: float = 0.85          # ... beside SSIM (3x3)
    w_census: float = 0.0         # census term (ARFlow option), off by default
    smooth_alpha: float = 10.0    # edge weight exp(-alpha |grad I|), Eq. (13)
    smooth_order: Literal[1, 2] = 1  # 1: Eq. (13); 2: second-order edge-aware smoothness (ARFlow's smooth_2nd)
    # Multi-scale weights over PWC-Lite's pyramid, finest first (full, 1/2, 1/4, 1/8, 1/16 of the input):
    # ARFlow's w_scales / w_sm_scales (configs/sintel_raw.json); the paper does not state them.
    w_scales: tuple = (1.0, 1.0, 1.0, 1.0, 0.0)     # photometric term at each level
    w_sm_scales: tuple = (1.0, 0.0, 0.0, 0.0, 0.0)  # smoothness only at the finest level
    # True: every term also on F21 and averaged (ARFlow's with_bk). The paper writes Eqs. (11), (13), (16) for F12
    # only, but its occlusion mask O needs F21: trained on F12 alone, F21 gets no gradient, drifts to ~F12 and the
    # check then marks every pixel occluded (L_ph = 0; seen on the embedded set within 50 steps). Hence True.
    bidirectional: bool = True
    # A sample whose forward-backward check keeps less than this fraction of pixels counts all of them: guards the
    # trivial zero of L_ph (everything "occluded") that untrained PWC-Lite falls into within ~10 steps. Paper: silent.
    min_visible: float = 0.1
    # the mask O of Eq. (11): 'fb' the forward-backward check, 'range' the backward flow's range map (ARFlow's
    # occ_from_back: a frame-1 pixel that receives less than occ_range_th splatted mass is occluded), 'none'
    occlusion: Literal["fb", "range", "none"] = "fb"
    occ_range_th: float = 0.2

    def __post_init__(self):
        _check_choices(self, "flow.loss")


LOSS_FIELDS = tuple(f.name for f in fields(FlowLossConfig))


@dataclass(frozen=True)
class FlowStage:
    """ARFlow's `stage1`: from step `after` (0-based) of a stage on, the loss fields in `loss` take these values."""

    after: int = 0
    loss: dict = field(default_factory=dict, metadata={"fields_of": FlowLossConfig})  # FlowLossConfig fields

    def __post_init__(self):
        if not isinstance(self.after, int) or isinstance(self.after, bool) or self.after < 0:
            raise ValueError(f"flow.stage1.after must be a step (an integer >= 0), got {self.after!r}")
        unknown = [k for k in self.loss if k not in LOSS_FIELDS]
        if unknown:
            raise ValueError(f"unknown key 'flow.stage1.loss.{unknown[0]}' (known: {', '.join(LOSS_FIELDS)})")
        _choices(FlowLossConfig, self.loss, "flow.stage1.loss")
        # lists (YAML, JSON) as tuples, as every other field: the config stays hashable and equal to its round trip
        object.__setattr__(self, "loss", {k: tuple(v) if isinstance(v, list) else v for k, v in self.loss.items()})

    def __hash__(self):
        return hash((self.after, tuple(sorted(self.loss.items()))))


@dataclass(frozen=True)
class FlowOptimConfig:
    """Adam's learning rate over a stage (`s2svr.train.flow.learning_rate`) and gradient clipping."""

    lr: float = 1e-4              # flow training learning rate (Sec. 4.1)
    warmup_iters: int = 0         # linear learning-rate warm-up from 0
    schedule: Literal["constant", "cosine"] = "constant"  # 'constant' (paper: silent) or 'cosine' (to lr_min at the last step)
    lr_min: float = 0.0
    grad_clip: float = 0.0        # max global gradient norm; 0 = no clipping

    def __post_init__(self):
        _check_choices(self, "flow.optim")


@dataclass(frozen=True)
class FlowAugmentConfig:
    """How a training pair is drawn (`s2svr.data.flow_pairs.PairBatches`): crop, flips, frame order, colour."""

    patch_size: int = 256         # HQ crop size
    swap: bool = True             # swap the frame order with probability 1/2 (ARFlow's augmentation)
    flips: Literal["hflip", "dihedral"] = "hflip"  # 'hflip' (ARFlow) or 'dihedral' (+ vertical flip, transpose)
    jitter: float = 0.0           # photometric jitter shared by the two frames: brightness +-j, contrast, gamma x e^+-j

    def __post_init__(self):
        _check_choices(self, "flow.augment")


@dataclass(frozen=True)
class FlowBudgetConfig:
    """How long each stage of Algorithm 1 runs and what it writes on the way."""

    iters: int = 20000            # iterations of each stage of Algorithm 1
    lq_iters: Optional[int] = None  # iterations of the stages on LQ frames (students, supervised-lq); None = iters
    batch_size: int = 8
    save_every: int = 2000        # checkpoint interval (always saved at the end)
    log_every: int = 50           # rows of the stage's log.csv
    eval_every: int = 0           # every this many steps, EPE on the test pairs -> flow_<stage>_eval.csv (0 = never)
    eval_pairs: int = 40          # test pairs of that curve


@dataclass(frozen=True)
class FlowConfig:
    """Unsupervised distillation flow training, Sec. 3.3 and Algorithm 1: what a flow net is and how it was trained.

    Sections, as ARFlow's configs have them: `net` (the network), `loss` (Eqs. 11-17), `stage1` (ARFlow's switch of
    loss fields after N steps), `optim` (learning rate, clipping), `augment` (how pairs are drawn), `budget`
    (steps, batch, logs); then the grid the networks work on (`zoom`, `lq_zoom`, `pad`) and where weights come from
    (`student_init`, `checkpoint`) and what data (`train_video`). How a trained net is *used* (a teacher's zoom in
    use, a restorer's flow zoom in `s2svr restore`) is an argument of use, not a field: `s2svr.flow.use.FlowUse`.
    """

    net: FlowNetConfig = field(default_factory=FlowNetConfig)
    loss: FlowLossConfig = field(default_factory=FlowLossConfig)
    stage1: Optional[FlowStage] = None  # e.g. {after: 300, loss: {occlusion: fb}}; None: one loss all along
    optim: FlowOptimConfig = field(default_factory=FlowOptimConfig)
    augment: FlowAugmentConfig = field(default_factory=FlowAugmentConfig)
    budget: FlowBudgetConfig = field(default_factory=FlowBudgetConfig)
    zoom: float = 1.0             # PWC-Lite works on frames enlarged by this factor, in training and in use (not ARFlow)
    # the zoom of the networks that see LQ frames (students, supervised-lq, the restorers' flow net). None: derived
    # when the experiment is built (`ExperimentConfig`): zoom x model.scale when the student starts from its teacher
    # (the only grid it can start on: the same motion in network pixels), else zoom. A restorer may run its flow net
    # at another zoom than its student trained at (the restorer study does).
    lq_zoom: Optional[float] = None
    pad: bool = False             # in use, pad (replicate) the zoomed frames to a multiple of 64 instead of resizing
    # the student's first weights: 'scratch' (Algorithm 1 is silent) or 'teacher' (its weights; needs lq_zoom =
    # zoom x scale so that both networks see the same geometry, the student only blurrier frames)
    student_init: Literal["scratch", "teacher"] = "scratch"
    train_video: float = 0.0      # embedded data: this fraction of each batch from the task's real clips (no GT)
    checkpoint: Optional[str] = None  # student checkpoint to initialise the restoration network's flow net

    def __post_init__(self):
        _check_choices(self, "flow")

    def zoom_of(self, frames: str) -> float:
        """The training zoom of a network on `frames` ('hq': teacher, supervised-hq; 'lq': students, restorers)."""
        return self.lq_zoom if frames == "lq" and self.lq_zoom is not None else self.zoom

    def loss_at(self, step: int) -> FlowLossConfig:
        """The loss fields of step `step` (0-based): `loss`, with `stage1.loss` over it from `stage1.after` on."""
        if self.stage1 is None or step < self.stage1.after:
            return self.loss
        return replace(self.loss, **self.stage1.loss)


@dataclass(frozen=True)
class DataConfig:
    """Where training and test data come from (see `s2svr.data`)."""

    dataset: str = "embedded"     # 'embedded', 'reds', 'vimeo', 'gopro' or 'mfqe'
    root: str = "data"            # dataset root folder
    num_frames: int = 15          # clip length T of a training sample
    patch_size: int = 64          # LQ crop size of a training sample (GT is x scale for SR)
    batch_size: int = 8           # total batch over all processes
    num_workers: int = 2
    test_frames: Optional[int] = None  # restore only the first N frames of each test clip (None = whole clip)
    # training clips held out as the validation split (names as in the dataset, e.g. 'bbb_05'): never trained on,
    # they give the validation curve, the "best" step and the convergence check. None: validate on the test clips
    val_clips: Optional[tuple] = None
    # extra training clips beside the dataset's (never validated or tested on): 'camera_paths', the training
    # photographs under a moving camera (s2svr.data.camera_paths; SR and deblurring). None: the dataset alone
    extra_train: Optional[str] = None


@dataclass(frozen=True)
class TrainConfig:
    """Restoration training (Sec. 4.1)."""

    iters: int = 600000
    lr: float = 2e-4              # network learning rate
    flow_lr: float = 5e-5         # flow-net learning rate
    betas: tuple = (0.9, 0.99)    # Adam
    eta_min: float = 1e-7         # cosine decay floor
    warmup_iters: int = 0         # linear learning-rate warm-up before the cosine (paper: none)
    grad_clip: float = 0.0        # max global gradient norm of a step; 0 = no clipping (paper, public code: none)
    init: Optional[str] = None    # fine-tune: start from this restoration checkpoint's weights (Vimeo from REDS)
    flow_freeze_iters: int = 0    # keep the flow net frozen for this many iterations (public code: 10000)
    charbonnier_eps: float = 1e-6
    val_every: int = 5000
    save_every: int = 5000
    log_every: int = 100
    amp: Optional[str] = None     # None, 'bf16' or 'fp16' (GPU speed option)
    channels_last: bool = False
    # A flow net frozen for the whole run (flow_freeze_iters >= iters) runs once per training sequence, on whole
    # frames, instead of once per step on the crop (s2svr.train.flow_bank); False: per step, as the public code.
    precompute_flow: bool = True


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = "experiment"
    profile: str = "paper"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self):
        if self.model.task not in TASKS:
            raise ValueError(f"model.task must be one of {TASKS}, got {self.model.task!r}")
        if self.model.arch not in ARCHS:
            raise ValueError(f"model.arch must be one of {ARCHS}, got {self.model.arch!r}")
        if self.model.layout not in LAYOUTS:
            raise ValueError(f"model.layout must be one of {LAYOUTS}, got {self.model.layout!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        if self.flow.lq_zoom is None:  # resolved once, here: the config says which zoom every LQ network runs at
            lq_zoom = self.flow.zoom * self.model.scale if self.flow.student_init == "teacher" else self.flow.zoom
            object.__setattr__(self, "flow", replace(self.flow, lq_zoom=lq_zoom))

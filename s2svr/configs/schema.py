"""Experiment configs: frozen dataclasses with commented defaults.

Explained in `book/use_train.md` (configs and profiles). One YAML file per experiment
(`sr_reds4`, `sr_vimeo`, `deblur_gopro`, `vqe_mfqe`) holds a base section and a `profiles`
mapping (`paper`, `cpu`, `ci`) of overrides that change only sizes and budgets. `load_config`
merges them into an :class:`ExperimentConfig`; a key that is not a field is an error naming it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

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


@dataclass(frozen=True)
class FlowConfig:
    """Unsupervised distillation flow training, Sec. 3.3 and Algorithm 1."""

    lr: float = 1e-4              # flow training learning rate (Sec. 4.1)
    w_ph: float = 0.15            # omega_ph, Eqs. (14) and (17) (= ARFlow's w_l1; it scales the whole photometric term)
    w_sm: float = 50.0            # omega_sm (= ARFlow's w_smooth)
    w_dis: float = 0.1            # omega_dis, Eq. (17)
    # rho of Eq. (11) = L1 + (w_ssim / w_l1) SSIM + (w_census / w_l1) census: these three set ratios only, so
    # the defaults give ARFlow's 0.15 L1 + 0.85 SSIM and w_ssim = 0 gives the paper's plain 0.15 L1.
    w_l1: float = 0.15            # ARFlow's photometric mix: L1 weight ...
    w_ssim: float = 0.85          # ... beside SSIM (3x3)
    w_census: float = 0.0         # census term (ARFlow option), off by default
    smooth_alpha: float = 10.0    # edge weight exp(-alpha |grad I|), Eq. (13)
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
    # The recipe that leaves the zero-flow plateau (chapter notebooks/distillation.py measures each against the paper path):
    net: str = "pwclite"          # the flow network: 'pwclite', or a classical flow that needs no training: 'dis', 'farneback'
    cost_norm: bool = False       # centre + L2-normalise features before the correlation (UFlow); False = ARFlow's raw one
    occ_warmup_iters: int = 0     # first steps: occlusion from the backward flow's range map (ARFlow occ_from_back), then fb check
    occ_range_th: float = 0.2     # a frame-1 pixel that receives less than this splatted mass is occluded (ARFlow)
    lr_warmup_iters: int = 0      # linear learning-rate warm-up from 0
    lr_schedule: str = "constant" # 'constant' (paper: silent) or 'cosine' (to lr_min at the last step)
    lr_min: float = 0.0
    grad_clip: float = 0.0        # max global gradient norm; 0 = no clipping
    swap: bool = True             # swap the frame order with probability 1/2 (ARFlow's augmentation)
    augment: str = "hflip"        # geometric augmentation: 'hflip' (ARFlow) or 'dihedral' (+ vertical flip, transpose)
    jitter: float = 0.0           # photometric jitter shared by the two frames: brightness +-j, contrast, gamma x e^+-j
    zoom: float = 1.0             # PWC-Lite works on frames enlarged by this factor, in training and in use (not ARFlow)
    # the zoom of the networks that see LQ frames (students, supervised-lq, the restorers' flow net); None = zoom.
    # zoom x scale puts the student's network on the teacher's grid (same motion in network pixels).
    lq_zoom: Optional[float] = None
    pad: bool = False             # in use, pad (replicate) the zoomed frames to a multiple of 64 instead of resizing
    # the teacher's zoom in use (flow-eval, `s2svr flow`), written into its checkpoint; None = zoom. 4 puts PWC-Lite's
    # 1/4-resolution output on the frames' own pixel grid. Distillation labels the student's crops at `zoom` regardless.
    infer_zoom: Optional[float] = None
    smooth_order: int = 1         # 1: Eq. (13); 2: second-order edge-aware smoothness (ARFlow's smooth_2nd)
    census_after_warmup: bool = False  # after occ_warmup_iters, rho = census only (ARFlow's stage-1 switch)
    # the student's first weights: 'scratch' (Algorithm 1 is silent) or 'teacher' (its weights; needs lq_zoom =
    # zoom x scale so that both networks see the same geometry, the student only blurrier frames)
    student_init: str = "scratch"
    train_video: float = 0.0      # embedded data: this fraction of each batch from the task's real clips (no GT)
    eval_every: int = 0           # every this many steps, EPE on the test pairs -> flow_<stage>_eval.csv (0 = never)
    eval_pairs: int = 40          # test pairs of that curve
    iters: int = 20000            # iterations of each stage of Algorithm 1
    lq_iters: Optional[int] = None  # iterations of the stages on LQ frames (students, supervised-lq); None = iters
    batch_size: int = 8
    patch_size: int = 256         # HQ crop size for flow training
    save_every: int = 2000        # checkpoint interval of each Algorithm 1 stage (always saved at the end)
    log_every: int = 50           # rows of the stage's log.csv
    checkpoint: Optional[str] = None  # student checkpoint to initialise the restoration network's flow net


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
    # photographs under a moving camera (s2svr.data.camera_paths; SR only). None: the dataset alone
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

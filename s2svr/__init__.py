"""s2svr: Unsupervised Flow-Aligned Sequence-to-Sequence Learning for Video Restoration (Lin et al., ICML 2022).

Package map (each module's docstring names the book chapter that explains it):
- `s2svr.flow`: warping, correlation, occlusion, PWC-Lite, the classical flows (Sec. 3.3) and the memo of a frozen
  flow net's answers in use (`flow.memo`)
- `s2svr.models`: ConvGRU/ResConvGRU, encoder, decoder, local attention, motion compensation, task heads,
  baselines (Sec. 3.1-3.2)
- `s2svr.losses`: photometric, smoothness, distillation and restoration losses
- `s2svr.data`: embedded dataset, real datasets, degradations, clips, flow pairs, video I/O
- `s2svr.metrics`: PSNR/SSIM conventions of the paper's tables
- `s2svr.train`: the restoration trainer (single process and torchrun DDP), Algorithm 1's flow trainer
  (`train.flow`), evaluation, the neighbour probe, flow banks, checkpoints, loading for use (`train.loading`),
  the cost of a training step (`train.step_cost`)
- `s2svr.restore`: streaming restoration of a video; `s2svr.bench`: speed, FLOP/s, memory
- `s2svr.experiments`: the book's plan of jobs, its runner, cache, preflight, reference weights, the restorer study
- `s2svr.report`: the chapters' tables, figures and verdicts; `s2svr.cli`: the command line
- `s2svr.configs`: experiment configs and profiles; `s2svr.reference`: the shipped weights' manifest
"""
__version__ = "0.1.0"

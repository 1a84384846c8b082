"""s2svr: Unsupervised Flow-Aligned Sequence-to-Sequence Learning for Video Restoration (Lin et al., ICML 2022).

Package map (each module's docstring names the book chapter that explains it):
- `s2svr.flow`: warping, occlusion, PWC-Lite, Algorithm 1 (Sec. 3.3)
- `s2svr.models`: ConvGRU/ResConvGRU, encoder, decoder, local attention, task heads (Sec. 3.1-3.2)
- `s2svr.losses`: photometric, smoothness, distillation and restoration losses
- `s2svr.data`: embedded dataset, real datasets, degradations, video I/O
- `s2svr.metrics`: PSNR/SSIM conventions of the paper's tables
- `s2svr.train`: training (single process and torchrun DDP), evaluation, streaming restoration
- `s2svr.configs`: experiment configs and profiles
"""
__version__ = "0.1.0"

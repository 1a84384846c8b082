"""Restore your own video (chapter `notebooks/use_restore.py`): the restorers run on a video file, frame by frame.

- `s2svr/restore/stream.py`: `restore_video` (files in, files out) and `restore_stream` (frames in, frames out):
  streaming for the `paper` layout, overlapping chunks for the `official` layout, each frame alone for frame-wise
  models; the YCbCr conversions of single-channel models.
- `s2svr/restore/tiles.py`: overlapping tiles of large frames (`Tiler`), their banded blend (`FrameBlend`), and
  the bands the flow net sees (`flow_bands`).
- `s2svr/restore/memory.py`: the memory a restoration holds (`estimate_memory`), checked up front against what is
  available (`available_memory`).
"""
from .memory import available_memory, estimate_memory
from .stream import restore_stream, restore_video, rgb_to_ycbcr, ycbcr_to_rgb
# the constants are read here; they are set (and patched) in `s2svr/restore/tiles.py`
from .tiles import FLOW_BAND_MARGIN, FLOW_MAX_PIXELS, FrameBlend, Tiler, check_tiles, flow_bands, flow_notice

__all__ = ["restore_video", "restore_stream", "rgb_to_ycbcr", "ycbcr_to_rgb", "Tiler", "FrameBlend", "check_tiles",
           "flow_bands", "flow_notice", "FLOW_MAX_PIXELS", "FLOW_BAND_MARGIN", "estimate_memory", "available_memory"]

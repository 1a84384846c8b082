"""Data: the embedded dataset, the real datasets, degradations and video I/O."""
from .sequence import FrameSource, VideoSequence

__all__ = ["FrameSource", "VideoSequence"]

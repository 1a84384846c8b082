"""The compressed-video task's check across codecs: the test clips re-encoded with H.264 (x264), never trained on.

Explained in the chapter `notebooks/exp_study.py`. The restorers of the compressed-video task train on HEVC (x265
QP 37, low-delay P); a model that learned HEVC's artefacts only, or the embedded clips only, will not enhance
these. `h264_sequences` keeps each test clip's raw frames as the ground truth and replaces its decoded frames by
an H.264 encode at a low bitrate (`crf`), in memory.
"""
from __future__ import annotations

import numpy as np

from .degrade import h264_compress
from .sequence import FrameSource, VideoSequence

H264_CRF = 35  # x264's constant rate factor of the check: a low bitrate (about 2 dB below x265 QP 37 on these clips)


def h264_sequences(sequences, crf: int = H264_CRF) -> list[VideoSequence]:
    """`sequences` (compressed-video test clips: `gt` raw YUV) with their LQ frames re-encoded by x264 at `crf`."""
    out = []
    for seq in sequences:
        w, h = seq.gt.size
        from .video_io import read_yuv420_frame
        raw = [read_yuv420_frame(seq.gt.path, w, h, i) for i in range(len(seq))]
        planes = tuple(np.stack([f[k] for f in raw]) for k in range(3))
        decoded, _ = h264_compress(planes, crf=crf)
        out.append(VideoSequence(f"{seq.name}@h264crf{crf}", FrameSource.from_planes(f"{seq.name}.h264", decoded),
                                 seq.gt, seq.scale))
    return out

"""s2svr.report.comparison and s2svr.report.per_frame on fake plan results."""
import numpy as np
import pytest

from s2svr import metrics
from s2svr.report.comparison import busiest_box, comparison_figure, slider_images, spaced_frames
from s2svr.report.per_frame import per_frame_psnr
from s2svr.report.runs import restored_frames

from fake_results import _fake_results


def test_per_frame_and_figures(tmp_path):
    res, gt = _fake_results(tmp_path, {"identity": 20, "single_frame": 4, "basicvsr": 8, "s2svr": 6})
    df = per_frame_psnr(res, "sr", "sr/clip_a", gt)
    assert df.shape == (3, 4)
    assert df["single-frame"].iloc[0] == pytest.approx(metrics.psnr(np.clip(gt[0].astype(int) + 4, 0, 255), gt[0]))
    assert (df["single-frame"] > df["bicubic"]).all()
    box = busiest_box(gt[0], 8, stride=1)
    assert 4 <= box[0] <= 6 and 18 <= box[1] <= 20 and box[2:] == (8, 8)  # inside the textured patch
    jpegs = slider_images({"bicubic": restored_frames(res["sr/identity"], "sr/clip_a")}, gt, box,
                                 [0, 2], res["sr/identity"]["convention"], width=4.0)
    assert len(jpegs) == 2 and all(j[:2] == b"\xff\xd8" for j in jpegs)
    fig = comparison_figure((gt[0], "GT"), [(gt[0], "GT"), (gt[0, ..., :1], "Y")], box, show=False)
    assert len(fig.axes) == 3
    assert spaced_frames(5, 12) == [0, 1, 2, 3, 4] and spaced_frames(30, 12)[-1] == 29
    assert len(spaced_frames(30, 12)) == 12

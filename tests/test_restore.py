import subprocess
import sys

import numpy as np
import pytest
import torch

from s2svr.data.video_io import read_video, write_video
from s2svr.models import S2SVR
from s2svr.restore import Tiler, restore_stream, rgb_to_ycbcr, ycbcr_to_rgb


def _frames(n=6, h=20, w=28):
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (h, w + n, 3), dtype=np.uint8)
    return [np.ascontiguousarray(base[:, t:t + w]) for t in range(n)]


def _tiny(layout="paper", task="sr", in_channels=3):
    torch.manual_seed(0)
    return S2SVR(task=task, layout=layout, in_channels=in_channels, num_feat=4, num_blocks=1, num_layers=1,
                 flow_size=None, scale=4 if task == "sr" else 1).eval()


def test_streaming_equals_restoring_the_whole_clip():
    model, frames = _tiny(), _frames()
    streamed = list(restore_stream(model, iter(frames)))
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255)[None]
    with torch.no_grad():
        whole = model(x)[0]  # (T, C, 4H, 4W)
    assert len(streamed) == len(frames)
    ref = (whole.clamp(0, 1) * 255).round().permute(0, 2, 3, 1).numpy().astype(np.uint8)
    diff = np.abs(np.stack(streamed).astype(int) - ref.astype(int))
    assert diff.max() <= 1 and diff.mean() < 1e-3  # float noise may flip a rounding, nothing more
    with torch.no_grad():  # the float outputs themselves: the criterion
        floats = torch.cat(list(model.stream(x[0, t:t + 1].clone() for t in range(x.shape[1]))), 0)
    assert (floats - whole).abs().max().item() < 1e-5


def test_stream_output_is_r_frames_behind_and_memory_is_bounded():
    model = _tiny()
    state = model.init_stream()
    sizes = []
    for t, f in enumerate(_frames(n=10)):
        x = torch.from_numpy(f).permute(2, 0, 1).float()[None] / 255
        ready = model.stream_step(state, x)
        assert len(ready) == (1 if t >= model.radius else 0)
        sizes.append(state.num_tensors())
    assert max(sizes[4:]) == min(sizes[4:])  # constant once the window is full


def test_single_tile_equals_untiled_and_tiles_cover_the_frame():
    model, frames = _tiny(task="deblur"), _frames()
    a = list(restore_stream(model, iter(frames)))
    b = list(restore_stream(model, iter(frames), tile=64))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = list(restore_stream(model, iter(frames), tile=12, tile_overlap=4))
    assert len(c) == len(frames) and c[0].shape == frames[0].shape
    t = Tiler(20, 28, 12, 4, scale=2)
    cover = torch.zeros(40, 56)
    for y, x, th, tw in t.boxes:
        cover[2 * y:2 * (y + th), 2 * x:2 * (x + tw)] += t.weight(y, x)
    assert cover.min() > 0  # every output pixel is covered by some tile


def test_official_layout_in_overlapping_chunks_restores_every_frame_once():
    model, frames = _tiny(layout="official", task="deblur"), _frames(n=11)
    out = list(restore_stream(model, iter(frames), chunk=5, chunk_overlap=2))
    assert len(out) == 11 and out[0].shape == frames[0].shape
    whole = list(restore_stream(model, iter(frames), chunk=20, chunk_overlap=2))  # one window = the whole clip
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255)[None]
    with torch.no_grad():
        ref = (model(x)[0].clamp(0, 1) * 255).round().permute(0, 2, 3, 1).numpy().astype(np.uint8)
    assert np.array_equal(np.stack(whole), ref)


def test_single_channel_model_restores_y_and_keeps_chroma():
    rgb = _frames(n=1)[0]
    assert np.abs(ycbcr_to_rgb(rgb_to_ycbcr(rgb)).astype(int) - rgb.astype(int)).max() <= 1
    model = _tiny(task="vqe", in_channels=1)
    out = list(restore_stream(model, iter(_frames(n=3))))
    assert len(out) == 3 and out[0].shape == rgb.shape and out[0].dtype == np.uint8


def _run(*args):
    return subprocess.run([sys.executable, "-m", "s2svr", *args], capture_output=True, text=True, timeout=300)


def test_restore_cli_on_a_video_file(tmp_path, tiny_checkpoint):
    src = write_video(tmp_path / "in.mp4", np.stack(_frames(n=5, h=16, w=24)), fps=10)
    r = _run("restore", str(src), str(tmp_path / "out.mp4"), "--checkpoint", str(tiny_checkpoint), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    out = read_video(tmp_path / "out.mp4")
    assert out.shape == (5, 64, 96, 3)
    r = _run("restore", str(src), str(tmp_path / "pngs"), "--checkpoint", str(tiny_checkpoint), "--tile", "8",
             "--tile-overlap", "2")
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "pngs").glob("*.png"))) == 5


def test_restore_cli_bad_input_is_one_line_and_leaves_nothing(tmp_path, tiny_checkpoint):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    r = _run("restore", str(bad), str(tmp_path / "out.mp4"), "--checkpoint", str(tiny_checkpoint))
    assert r.returncode == 2 and "broken.mp4" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.mp4").exists() and list(tmp_path.iterdir()) == [bad]
    r = _run("restore", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4"), "--checkpoint", str(tiny_checkpoint))
    assert r.returncode == 2 and "missing.mp4" in r.stderr and "Traceback" not in r.stderr


def test_eval_cli_writes_json_and_table(tmp_path, tiny_checkpoint):
    r = _run("eval", "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "res.json"))
    assert r.returncode == 0, r.stderr
    import json
    res = json.loads((tmp_path / "res.json").read_text())
    assert set(res["per_sequence"]) == {"000", "011", "015", "020"} and "psnr" in res["mean"]
    assert (tmp_path / "res.md").read_text().count("|") > 10


def test_frame_wise_baseline_restores_each_frame_alone():
    from s2svr.models.baselines import SingleFrameBaseline
    torch.manual_seed(0)
    model = SingleFrameBaseline(task="deblur", in_channels=3, num_feat=4, num_blocks=2, scale=1).eval()
    frames = _frames(n=3)
    out = list(restore_stream(model, iter(frames)))
    alone = list(restore_stream(model, iter(frames[1:2])))
    assert len(out) == 3 and np.array_equal(out[1], alone[0])


def test_memory_is_checked_up_front(tmp_path, monkeypatch):
    """A video whose restoration cannot fit in memory is refused before any frame is read or written."""
    import numpy as np

    import s2svr.restore as R
    from s2svr.data.video_io import VideoIOError, write_png_folder
    from s2svr.models import build_model
    from s2svr.configs import load_config
    cfg = load_config("sr_reds4", "ci")
    model = build_model(cfg.model).eval()
    write_png_folder(tmp_path / "in", np.zeros((2, 16, 16, 3), np.uint8))
    small = R.estimate_memory(model, 16, 16, None, 16)
    assert R.estimate_memory(model, 4000, 3000, 128, 16) > 100 * small  # grows with the frame
    monkeypatch.setattr(R.stream, "available_memory", lambda: small // 2)  # where restore_video looks it up
    import pytest
    with pytest.raises(VideoIOError, match="GiB"):
        R.restore_video(model, tmp_path / "in", tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_tiles_take_their_flows_from_the_whole_frame(monkeypatch):
    """With tiles, the flow net runs once per frame pair on the whole frame (as in training), not once per tile."""
    import numpy as np
    import torch

    from s2svr.configs import load_config
    from s2svr.models import build_model
    from s2svr.restore import restore_stream
    torch.manual_seed(0)
    model = build_model(load_config("sr_reds4", "ci").model).eval()
    calls = []
    real = model.flow.forward

    def counting(img1, img2, *a, **k):
        calls.append(tuple(img1.shape[-2:]))
        return real(img1, img2, *a, **k)

    monkeypatch.setattr(model.flow, "forward", counting)
    frames = [np.random.default_rng(i).integers(0, 255, (40, 48, 3), dtype=np.uint8) for i in range(4)]
    outs = list(restore_stream(model, iter(frames), tile=24, tile_overlap=4))
    assert len(outs) == 4 and outs[0].shape == (160, 192, 3)
    assert calls == [(40, 48)] * 3  # one call per frame pair, at the whole frame's size


def test_the_restore_package_keeps_one_concept_per_module():
    """Tiles and their blend live in `s2svr/restore/tiles.py`, the memory estimate in `s2svr/restore/memory.py`, the
    restorers in `s2svr/restore/stream.py`; `s2svr.restore` re-exports them, so `s2svr.restore.Tiler` still works."""
    import s2svr.restore as R
    owners = {"tiles": ["Tiler", "FrameBlend", "check_tiles", "flow_bands", "flow_notice", "tile_flows"],
              "memory": ["estimate_memory", "available_memory", "flow_bytes"],
              "stream": ["restore_video", "restore_stream", "rgb_to_ycbcr", "ycbcr_to_rgb"]}
    for module, names in owners.items():
        for name in names:
            obj = getattr(getattr(R, module), name)
            assert obj.__module__ == f"s2svr.restore.{module}", (name, obj.__module__)
            assert name not in R.__all__ or getattr(R, name) is obj
    assert R.FLOW_MAX_PIXELS == R.tiles.FLOW_MAX_PIXELS and R.FLOW_BAND_MARGIN == R.tiles.FLOW_BAND_MARGIN
    assert set(R.__all__) <= set(dir(R))

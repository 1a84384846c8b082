"""Video I/O: exact round trips, streaming, atomic writes, and one-line errors that name the bad file."""
import numpy as np
import pytest
from PIL import Image

from s2svr.data import video_io as vio
from s2svr.data.sequence import FrameSource, rgb_to_y_uint8
from s2svr.data.video_io import VideoIOError


def _clip(t=6, h=48, w=64, seed=0):
    """Smooth moving colour content (so lossy codecs reach a meaningful PSNR)."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = [np.stack([128 + 100 * np.sin((xx + 3 * i) / 7.0), 128 + 100 * np.cos((yy - 2 * i) / 9.0),
                        128 + 60 * np.sin((xx + yy + i) / 11.0)], -1) for i in range(t)]
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def _psnr(a, b):
    return 10 * np.log10(255 ** 2 / ((a.astype(float) - b) ** 2).mean())


def _assert_names(excinfo, path):
    msg = str(excinfo.value)
    assert str(path) in msg and "\n" not in msg


def test_yuv_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (3, 6, 10), dtype=np.uint8)
    u = rng.integers(0, 256, (3, 3, 5), dtype=np.uint8)
    v = rng.integers(0, 256, (3, 3, 5), dtype=np.uint8)
    p = vio.write_yuv420(tmp_path / "clip_10x6.yuv", y, u, v)
    assert p.stat().st_size == 3 * 90
    for a, b in zip(vio.read_yuv420(p, 10, 6), (y, u, v)):
        assert np.array_equal(a, b)
    src = FrameSource.from_yuv(p, 10, 6)
    assert len(src) == 3 and np.array_equal(src.read([2], mode="y")[0, ..., 0], y[2])
    assert vio.parse_yuv_size(p) == (10, 6) and vio.read_video(p).shape == (3, 6, 10, 3)


def test_rgb_yuv_conversion_matches_y_and_round_trips():
    rgb = _clip()
    y, u, v = vio.rgb_to_yuv420(rgb)
    assert np.array_equal(y, rgb_to_y_uint8(rgb)[..., 0])             # one BT.601 luma everywhere
    assert u.shape == (6, 24, 32) and 16 <= y.min() and y.max() <= 235
    assert _psnr(vio.yuv420_to_rgb(y, u, v), rgb) > 35              # only chroma subsampling is lost


def test_png_folder_round_trip_and_atomic_replace(tmp_path):
    clip = _clip()
    vio.write_png_folder(tmp_path / "f", clip)
    assert np.array_equal(vio.read_video(tmp_path / "f"), clip)
    vio.write_png_folder(tmp_path / "f", clip[:2])                   # replaces, never mixes
    assert len(list((tmp_path / "f").iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]       # no temporary leftovers


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi"])
def test_video_write_read(tmp_path, suffix):
    clip = _clip(t=8)
    p = vio.write_video(tmp_path / f"v{suffix}", clip, crf=18)
    back = vio.read_video(p)
    assert back.shape == clip.shape and _psnr(back, clip) > 30
    assert vio.probe(p)["num_frames"] == 8 and vio.probe(p)["width"] == 64


def test_lossless_mp4_is_exact_and_streaming(tmp_path):
    clip = _clip(t=5, h=30, w=42)
    with vio.VideoWriter(tmp_path / "s.mp4", lossless=True) as w:
        for frame in clip:                                           # one frame at a time
            w.write(frame)
    frames = vio.iter_frames(tmp_path / "s.mp4")
    assert np.array_equal(next(frames), clip[0])                     # a generator: frames arrive one by one
    assert np.array_equal(np.stack([clip[0]] + list(frames)), clip)
    assert len(list(vio.iter_frames(tmp_path / "s.mp4", max_frames=2))) == 2


def test_odd_sized_lossy_mp4(tmp_path):
    clip = _clip(t=3, h=31, w=45)
    assert vio.read_video(vio.write_video(tmp_path / "odd.mp4", clip)).shape == clip.shape


def test_writer_leaves_nothing_on_error(tmp_path):
    for name in ("x.mp4", "x.yuv", "x"):
        with pytest.raises(RuntimeError):
            with vio.VideoWriter(tmp_path / name) as w:
                w.write(_clip(t=2))
                raise RuntimeError("interrupted")
    with pytest.raises(VideoIOError):
        with vio.VideoWriter(tmp_path / "y.mp4") as w:
            w.write(_clip(t=1))
            w.write(_clip(t=1, h=32))                                # size change mid-stream
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------ bad input


def test_missing_and_empty_files(tmp_path):
    for name in ("none.mp4", "none.png"):
        with pytest.raises(VideoIOError, match="no such file") as e:
            vio.read_video(tmp_path / name) if name.endswith("mp4") else vio.read_image(tmp_path / name)
        _assert_names(e, tmp_path / name)
    for name in ("empty.mp4", "empty.png", "empty_8x8.yuv"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(VideoIOError, match="empty") as e:
            vio.read_video(tmp_path / name) if not name.endswith("png") else vio.read_image(tmp_path / name)
        _assert_names(e, tmp_path / name)


def test_corrupt_files(tmp_path):
    junk = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    for name in ("junk.mp4", "junk.mkv", "junk.png", "junk.jpg"):
        (tmp_path / name).write_bytes(junk)
        with pytest.raises(VideoIOError) as e:
            vio.read_video(tmp_path / name) if name.endswith(("mp4", "mkv")) else vio.read_image(tmp_path / name)
        _assert_names(e, tmp_path / name)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi", ".png"])
def test_truncated_files(tmp_path, suffix):
    good = tmp_path / f"good{suffix}"
    if suffix == ".png":
        Image.fromarray(_clip(t=1, h=64, w=64)[0]).save(good)
    else:
        vio.write_video(good, _clip(t=12))
    bad = tmp_path / f"cut{suffix}"
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoIOError, match="truncated|corrupt") as e:
        vio.read_image(bad) if suffix == ".png" else vio.read_video(bad)
    _assert_names(e, bad)


def test_yuv_size_not_a_whole_number_of_frames(tmp_path):
    p = tmp_path / "clip_16x8.yuv"
    p.write_bytes(bytes(16 * 8 * 3 // 2 * 2 + 7))
    for call in (lambda: vio.read_video(p), lambda: len(FrameSource.from_yuv(p, 16, 8)),
                 lambda: vio.read_yuv420_frame(p, 16, 8, 0)):
        with pytest.raises(VideoIOError, match="not a multiple") as e:
            call()
        _assert_names(e, p)
    with pytest.raises(VideoIOError, match="size"):
        vio.read_video(tmp_path / "nosize.yuv")


def test_folder_with_mixed_frame_sizes(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / "00000000.png")
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(d / "00000001.png")
    for call in (lambda: vio.read_video(d), lambda: FrameSource.from_folder(d).read([0, 1])):
        with pytest.raises(VideoIOError, match="mixed frame sizes.*00000001.png is 10x8") as e:
            call()
        _assert_names(e, d)
    with pytest.raises(VideoIOError, match="no image frames"):
        vio.read_video(tmp_path)                       # a folder with no images (only a sub-folder)


def _write_png16(path, arr):
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit RGB)."""
    import struct
    import zlib
    arr = np.asarray(arr, dtype=">u2")
    h, w = arr.shape[:2]
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))
    def chunk(t, d):  # noqa: E306
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2 if arr.ndim == 3 else 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_grayscale_16bit_and_alpha_are_converted(tmp_path):
    g = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    Image.fromarray(g).save(tmp_path / "g.png")
    rgb = vio.read_image(tmp_path / "g.png")
    assert rgb.shape == (6, 8, 3) and all(np.array_equal(rgb[..., c], g) for c in range(3))
    g16 = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 1365)
    _write_png16(tmp_path / "g16.png", g16)
    assert np.array_equal(vio.read_image(tmp_path / "g16.png")[..., 1], (g16 >> 8).astype(np.uint8))
    c16 = np.stack([g16, 65535 - g16, g16 // 2], -1)
    _write_png16(tmp_path / "c16.png", c16)
    assert np.array_equal(vio.read_image(tmp_path / "c16.png"), (c16 >> 8).astype(np.uint8))
    rgba = np.dstack([_clip(t=1, h=6, w=8)[0], np.full((6, 8), 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert np.array_equal(vio.read_image(tmp_path / "a.png"), rgba[..., :3])

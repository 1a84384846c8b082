import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from s2svr.data.clips import PairedClipDataset, SequenceDataset, augment_clip, clip_indices
from s2svr.data.sequence import FrameSource, VideoSequence

S = 4  # SR scale


def _block_average(gt: np.ndarray) -> np.ndarray:
    """Exact s x s block mean of uint8 `(..., H, W, C)`, rounded (the test's own 'bicubic')."""
    *lead, h, w, c = gt.shape
    x = gt.reshape(*lead, h // S, S, w // S, S, c).astype(np.float64).mean(axis=(-4, -2))
    return np.round(x).astype(np.uint8)


def _write(folder, frames):
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{i:08d}.png")


@pytest.fixture
def sr_sequence(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (5, 32, 48, 3), dtype=np.uint8)
    _write(tmp_path / "gt", gt)
    _write(tmp_path / "lq", _block_average(gt))
    return VideoSequence("clip", FrameSource.from_folder(tmp_path / "lq"), FrameSource.from_folder(tmp_path / "gt"), S)


def _u8(t: torch.Tensor) -> np.ndarray:
    return np.round(t.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)


def test_clip_indices_mirror_short_sequences():
    assert clip_indices(10, 3, 4) == [3, 4, 5, 6]
    assert clip_indices(3, 0, 7) == [0, 1, 2, 1, 0, 1, 2]
    assert clip_indices(1, 0, 3) == [0, 0, 0]


def test_crops_aligned_after_augmentation(sr_sequence):
    ds = PairedClipDataset([sr_sequence], num_frames=3, patch_size=4, seed=1, repeat=20)
    for i in range(len(ds)):
        s = ds[i]
        assert s["frames_lq"].shape == (3, 3, 4, 4)
        assert s["frames_gt"].shape == (3, 3, 16, 16)
        assert s["frames_lq"].dtype == torch.float32 and 0 <= s["frames_lq"].min() <= s["frames_lq"].max() <= 1
        assert np.array_equal(_u8(s["frames_lq"]), _block_average(_u8(s["frames_gt"])))


def test_same_seed_same_sample_and_epoch_changes_it(sr_sequence):
    a = PairedClipDataset([sr_sequence], num_frames=3, patch_size=4, seed=7, repeat=4)
    b = PairedClipDataset([sr_sequence], num_frames=3, patch_size=4, seed=7, repeat=4)
    for i in range(4):
        assert torch.equal(a[i]["frames_gt"], b[i]["frames_gt"]) and a[i]["start"] == b[i]["start"]
    b.set_epoch(1)
    assert any(not torch.equal(a[i]["frames_gt"], b[i]["frames_gt"]) for i in range(4))


def test_samples_independent_of_worker_count(sr_sequence):
    ds = PairedClipDataset([sr_sequence], num_frames=2, patch_size=4, seed=3, repeat=6)
    serial = [d["frames_gt"] for d in DataLoader(ds, batch_size=None, num_workers=0)]
    parallel = [d["frames_gt"] for d in DataLoader(ds, batch_size=None, num_workers=2)]
    assert all(torch.equal(x, y) for x, y in zip(serial, parallel))


def test_flips_and_transpose_same_for_all_frames_and_lq_gt(sr_sequence):
    plain = PairedClipDataset([sr_sequence], num_frames=3, patch_size=4, seed=5, augment=False, repeat=16)
    aug = PairedClipDataset([sr_sequence], num_frames=3, patch_size=4, seed=5, augment=True, repeat=16)
    seen = set()
    for i in range(16):
        p, a = plain[i], aug[i]  # same crop: all random draws happen whether or not we augment
        gt_p, gt_a = _u8(p["frames_gt"]), _u8(a["frames_gt"])
        lq_p, lq_a = _u8(p["frames_lq"]), _u8(a["frames_lq"])
        matches = [f for f in np.ndindex(2, 2, 2)
                   if np.array_equal(augment_clip(gt_p, *map(bool, f)), gt_a)
                   and np.array_equal(augment_clip(lq_p, *map(bool, f)), lq_a)]
        assert matches, "augmented clip is not one whole-clip flip/transpose of the plain clip"
        seen.add(matches[0])
    assert len(seen) > 1


def test_y_mode_and_whole_frames(sr_sequence):
    ds = PairedClipDataset([sr_sequence], num_frames=4, patch_size=None, mode="y", augment=False)
    s = ds[0]
    assert s["frames_lq"].shape == (4, 1, 8, 12) and s["frames_gt"].shape == (4, 1, 32, 48)


def test_patch_larger_than_frame_is_an_error(sr_sequence):
    with pytest.raises(ValueError, match="patch_size"):
        PairedClipDataset([sr_sequence], num_frames=2, patch_size=16)[0]


def test_sequence_dataset_whole_and_first_n(sr_sequence):
    full = SequenceDataset([sr_sequence])[0]
    assert full["frames_lq"].shape == (5, 3, 8, 12) and full["frames_gt"].shape == (5, 3, 32, 48)
    assert np.array_equal(_u8(full["frames_gt"]), sr_sequence.gt.read(range(5)))
    first = SequenceDataset([sr_sequence], mode="y", num_frames=2)[0]
    assert first["frames_gt"].shape == (2, 1, 32, 48) and first["name"] == "clip"

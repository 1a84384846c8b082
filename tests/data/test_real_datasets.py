"""Loaders read tiny trees in the real layouts; every missing piece is a one-line DatasetError naming it."""
import hashlib
import http.server
import shutil
import threading
import warnings
import zlib
from functools import partial

import numpy as np
import pytest
from PIL import Image

from s2svr.data.download import ChecksumError, DownloadError, download, extract, record_checksum
from s2svr.data.registry import DatasetError, get_sequences
from s2svr.data.reds import REDS4, reds_clip_names
from s2svr.data.mfqe import parse_yuv_name, table3_row


def _frames(folder, n, h, w, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(str(folder).encode()))
    for i in range(n):
        name = names[i] if names else f"{i:08d}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / name)


def _assert_one_line(err, path_part, script):
    msg = str(err.value)
    assert "\n" not in msg and path_part in msg and f"data_scripts/{script}" in msg, msg


# ------------------------------------------------------------------------------------------------ REDS
@pytest.fixture
def reds_root(tmp_path):
    root = tmp_path / "REDS"
    for clip in ("000", "001", "011", "015", "020", "245"):
        _frames(root / "train_sharp" / clip, 3, 32, 32)
        _frames(root / "train_sharp_bicubic" / "X4" / clip, 3, 8, 8)
    return root


def test_reds_splits(reds_root):
    test = get_sequences("reds", reds_root, "sr", "test")
    assert [s.name for s in test] == list(REDS4)
    assert all(s.scale == 4 and len(s) == 3 for s in test)
    assert test[0].lq.read([0]).shape == (1, 8, 8, 3) and test[0].gt.read([0]).shape == (1, 32, 32, 3)
    train = get_sequences("reds", reds_root, "sr", "train")
    assert [s.name for s in train] == ["001", "245"]          # REDS4 held out, regrouped val clip kept
    assert [s.name for s in get_sequences("reds", reds_root, "sr", "val")] == list(REDS4)


def test_reds_paper_split_sizes():
    train, test = reds_clip_names("train"), reds_clip_names("test")
    assert len(train) == 266 and len(test) == 4 and not set(train) & set(test)


def test_reds_missing_lq_clip(reds_root):
    shutil.rmtree(reds_root / "train_sharp_bicubic" / "X4" / "011")
    with pytest.raises(DatasetError) as e:
        get_sequences("reds", reds_root, "sr", "test")
    _assert_one_line(e, "train_sharp_bicubic/X4/011: missing", "prepare_reds.py")
    assert f"--root {reds_root}" in str(e.value)


def test_reds_missing_gt_folder_and_strict(reds_root):
    with pytest.raises(DatasetError) as e:
        get_sequences("reds", reds_root, "sr", "train", strict=True)
    _assert_one_line(e, "train_sharp/002", "prepare_reds.py")
    shutil.rmtree(reds_root / "train_sharp")
    with pytest.raises(DatasetError) as e:
        get_sequences("reds", reds_root, "sr", "train")
    _assert_one_line(e, "train_sharp: missing", "prepare_reds.py")


def test_reds_frame_count_mismatch(reds_root):
    (reds_root / "train_sharp_bicubic" / "X4" / "020" / "00000002.png").unlink()
    with pytest.raises(DatasetError) as e:
        get_sequences("reds", reds_root, "sr", "test")
    _assert_one_line(e, "X4/020: 2 frames", "prepare_reds.py")


# ---------------------------------------------------------------------------------------------- Vimeo
@pytest.fixture
def vimeo_root(tmp_path):
    root = tmp_path / "vimeo90k"
    keys = {"train": ["00001/0001", "00001/0002"], "test": ["00002/0001"]}
    for split, ks in keys.items():
        for k in ks:
            names = [f"im{i}.png" for i in range(1, 8)]
            _frames(root / "vimeo_septuplet" / "sequences" / k, 7, 32, 32, names)
            _frames(root / "vimeo_septuplet_matlabLRx4" / "sequences" / k, 7, 8, 8, names)
    (root / "vimeo_septuplet" / "sep_trainlist.txt").write_text("00001/0001\n00001/0002\n")
    (root / "vimeo_septuplet" / "sep_testlist.txt").write_text("00002/0001\n\n")
    return root


def test_vimeo_splits(vimeo_root):
    test = get_sequences("vimeo", vimeo_root, "sr", "test")
    assert [s.name for s in test] == ["00002/0001"] and len(test[0]) == 7 and test[0].scale == 4
    assert test[0].gt.read([6]).shape == (1, 32, 32, 3)
    assert [s.name for s in get_sequences("vimeo", vimeo_root, "sr", "train")] == ["00001/0001", "00001/0002"]


def test_vimeo_missing_pieces(vimeo_root):
    shutil.rmtree(vimeo_root / "vimeo_septuplet_matlabLRx4" / "sequences" / "00001" / "0002")
    with pytest.raises(DatasetError) as e:
        get_sequences("vimeo", vimeo_root, "sr", "train")
    _assert_one_line(e, "vimeo_septuplet_matlabLRx4/sequences/00001/0002: missing", "prepare_vimeo.py")
    (vimeo_root / "vimeo_septuplet" / "sep_testlist.txt").unlink()
    with pytest.raises(DatasetError) as e:
        get_sequences("vimeo", vimeo_root, "sr", "test")
    _assert_one_line(e, "sep_testlist.txt: missing", "prepare_vimeo.py")


# ---------------------------------------------------------------------------------------------- GOPRO
@pytest.fixture
def gopro_root(tmp_path):
    root = tmp_path / "GOPRO_Large"
    for split, seqs in {"train": ["GOPR0372_07_00", "GOPR0374_11_00"], "test": ["GOPR0384_11_00"]}.items():
        for s in seqs:
            names = [f"{i:06d}.png" for i in range(47, 50)]
            _frames(root / split / s / "blur", 3, 16, 16, names)
            _frames(root / split / s / "sharp", 3, 16, 16, names)
    return root


def test_gopro_splits(gopro_root):
    train = get_sequences("gopro", gopro_root, "deblur", "train")
    assert [s.name for s in train] == ["GOPR0372_07_00", "GOPR0374_11_00"] and train[0].scale == 1
    test = get_sequences("gopro", gopro_root, "deblur", "test")
    assert len(test) == 1 and len(test[0]) == 3 and test[0].lq.path.name == "blur"


def test_gopro_missing_pieces(gopro_root):
    shutil.rmtree(gopro_root / "test" / "GOPR0384_11_00" / "sharp")
    with pytest.raises(DatasetError) as e:
        get_sequences("gopro", gopro_root, "deblur", "test")
    _assert_one_line(e, "GOPR0384_11_00/sharp: missing", "prepare_gopro.py")
    shutil.rmtree(gopro_root / "train")
    with pytest.raises(DatasetError) as e:
        get_sequences("gopro", gopro_root, "deblur", "train")
    _assert_one_line(e, "GOPRO_Large/train: missing", "prepare_gopro.py")


def test_task_mismatch_is_an_error(gopro_root):
    with pytest.raises(ValueError, match="deblur"):
        get_sequences("gopro", gopro_root, "sr", "train")


# --------------------------------------------------------------------------------------------- MFQEv2
def _yuv(path, w, h, n, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    path.write_bytes(rng.integers(0, 256, n * w * h * 3 // 2, dtype=np.uint8).tobytes())


@pytest.fixture
def mfqe_root(tmp_path):
    root = tmp_path / "MFQEv2_dataset"
    for split, names in {"train_108": ["Clip_16x8_3.yuv"], "test_18": ["RaceHorses_416x240_2.yuv", "Tiny_8x8_3.yuv"]}.items():
        for i, name in enumerate(names):
            w, h = parse_yuv_name(name)
            n = int(name.split("_")[-1].split(".")[0])
            _yuv(root / split / "raw" / name, w, h, n, i)
            _yuv(root / split / "HM16.5_LDP" / "QP37" / name, w, h, n, i + 10)
    return root


def test_mfqe_splits_and_sizes(mfqe_root):
    test = get_sequences("mfqe", mfqe_root, "vqe", "test")
    assert [s.name for s in test] == ["RaceHorses_416x240_2", "Tiny_8x8_3"]
    assert len(test[0]) == 2 and test[0].gt.read([1], mode="y").shape == (1, 240, 416, 1)
    assert "HM16.5_LDP" in str(test[0].lq.path)
    train = get_sequences("mfqe", mfqe_root, "vqe", "train")
    assert len(train) == 1 and len(train[0]) == 3
    assert table3_row("RaceHorses_416x240_300") == ("D", "RaceHorses")
    assert table3_row("RaceHorses_832x480_300") == ("C", "RaceHorses") and table3_row("Clip_16x8_3") is None


def test_mfqe_x265_stand_in_and_missing(mfqe_root):
    hm = mfqe_root / "test_18" / "HM16.5_LDP"
    hm.rename(mfqe_root / "test_18" / "x265_LDP")
    with pytest.warns(UserWarning, match="stand-in"):
        test = get_sequences("mfqe", mfqe_root, "vqe", "test")
    assert "x265_LDP" in str(test[0].lq.path)
    (mfqe_root / "test_18" / "x265_LDP" / "QP37" / "Tiny_8x8_3.yuv").unlink()
    with pytest.raises(DatasetError) as e, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        get_sequences("mfqe", mfqe_root, "vqe", "test")
    _assert_one_line(e, "x265_LDP/QP37/Tiny_8x8_3.yuv: missing", "prepare_mfqe.py")
    shutil.rmtree(mfqe_root / "test_18" / "x265_LDP")
    with pytest.raises(DatasetError) as e:
        get_sequences("mfqe", mfqe_root, "vqe", "test")
    _assert_one_line(e, "HM16.5_LDP/QP37: missing", "prepare_mfqe.py")
    shutil.rmtree(mfqe_root / "train_108" / "raw")
    with pytest.raises(DatasetError) as e:
        get_sequences("mfqe", mfqe_root, "vqe", "train")
    _assert_one_line(e, "train_108/raw: missing", "prepare_mfqe.py")


def test_mfqe_frame_count_mismatch(mfqe_root):
    _yuv(mfqe_root / "train_108" / "HM16.5_LDP" / "QP37" / "Clip_16x8_3.yuv", 16, 8, 2, 0)
    with pytest.raises(DatasetError) as e:
        get_sequences("mfqe", mfqe_root, "vqe", "train")
    _assert_one_line(e, "Clip_16x8_3.yuv: 2 frames", "prepare_mfqe.py")


# ------------------------------------------------------------------------------------------- download
PAYLOAD = bytes(np.random.default_rng(9).integers(0, 256, 300_000, dtype=np.uint8))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD with Range support; the first full request is cut off after half the bytes."""

    def __init__(self, *args, state, **kwargs):
        self.state = state
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        self.state["ranges"].append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng else 0
        body = PAYLOAD[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not rng and self.state["cut"]:
            self.state["cut"] = False
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)   # drop the connection mid-body
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    state = {"ranges": [], "cut": True}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, state=state))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/data.zip", state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_download_resumes_after_interruption(server, tmp_path):
    url, state = server
    dest = tmp_path / "dl" / "data.zip"
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    with pytest.raises(DownloadError, match="resume"):
        download(url, dest, sha256=sha, timeout=5, progress=False)
    part = dest.with_name("data.zip.part")
    assert not dest.exists() and part.stat().st_size == len(PAYLOAD) // 2
    download(url, dest, sha256=sha, timeout=5, progress=False)
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    assert state["ranges"] == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_download_bad_checksum_leaves_no_complete_file(server, tmp_path):
    url, state = server
    state["cut"] = False
    dest = tmp_path / "data.zip"
    with pytest.raises(ChecksumError):
        download(url, dest, sha256="0" * 64, timeout=5, progress=False)
    assert not dest.exists() and not dest.with_name("data.zip.part").exists()


def test_download_file_url_resume_record_and_extract(tmp_path):
    import zipfile
    src = tmp_path / "src.zip"
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("train_sharp/000/00000000.png", b"x" * 1000)
    data = src.read_bytes()
    dest = tmp_path / "out" / "src.zip"
    dest.parent.mkdir()
    dest.with_name("src.zip.part").write_bytes(data[:100])  # a partial earlier download
    download(src.as_uri(), dest, md5=hashlib.md5(data).hexdigest(), progress=False)
    assert dest.read_bytes() == data
    digest = record_checksum(dest, progress=False)
    assert digest == hashlib.sha256(data).hexdigest()
    assert '"computed locally"' in (dest.parent / "checksums.json").read_text()
    out = extract(dest, tmp_path / "x", progress=False)
    assert (out / "train_sharp/000/00000000.png").read_bytes() == b"x" * 1000
    dest.write_bytes(b"tampered")
    with pytest.raises(ChecksumError):
        record_checksum(dest, progress=False)


# -------------------------------------------------------------------------------------- prepare scripts
def test_prepare_reds_regroups_val_and_makes_missing_lq(tmp_path, monkeypatch):
    import sys
    import zipfile
    from pathlib import Path
    imresize = pytest.importorskip("s2svr.data.degrade").imresize
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "data_scripts"))
    import prepare_reds
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rng = np.random.default_rng(1)
    gt = {}
    for name, prefix, clips, size in (("train_sharp", "train/train_sharp", REDS4, 32),
                                      ("train_sharp_bicubic", "train/train_sharp_bicubic/X4", REDS4, 8),
                                      ("val_sharp", "val/val_sharp", ("000",), 32), ("val_sharp_bicubic", "", (), 8)):
        with zipfile.ZipFile(mirror / f"{name}.zip", "w") as z:
            for c in clips:
                frame = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                gt[(name, c)] = frame
                png = tmp_path / "f.png"
                Image.fromarray(frame).save(png)
                z.write(png, f"{prefix}/{c}/00000000.png")
    root = tmp_path / "REDS"
    prepare_reds.main(["--root", str(root), "--base-url", mirror.as_uri(), "--workers", "1"])
    train = get_sequences("reds", root, "sr", "train")
    assert [s.name for s in train] == ["240"]                       # val 000 regrouped as 240
    made = train[0].lq.read([0])[0]
    assert np.array_equal(made, imresize(gt[("val_sharp", "000")], 0.25))
    assert len(get_sequences("reds", root, "sr", "test")) == 4
    assert "train_sharp.zip" in (root / "downloads" / "checksums.json").read_text()
    for m in ("prepare_reds", "prepare_common"):
        sys.modules.pop(m, None)


def test_registry_dispatches_embedded_lazily_and_rejects_unknown(monkeypatch, tmp_path):
    import sys
    import types
    calls = []
    fake = types.ModuleType("s2svr.data.embedded")
    fake.embedded_sequences = lambda root, task, split: calls.append((root, task, split)) or ["seq"]
    monkeypatch.setitem(sys.modules, "s2svr.data.embedded", fake)
    assert get_sequences("embedded", tmp_path, "vqe", "val") == ["seq"]
    assert calls == [(tmp_path, "vqe", "test")]
    with pytest.raises(ValueError, match="unknown dataset"):
        get_sequences("davis", tmp_path, "sr", "test")
    with pytest.raises(ValueError, match="split"):
        get_sequences("reds", tmp_path, "sr", "holdout")


def test_plain_http_is_refused_unless_allowed(tmp_path):
    with pytest.raises(DownloadError, match="plain HTTP is refused"):
        download("http://example.invalid/data.zip", tmp_path / "data.zip", progress=False)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("line", ["../../etc", "/etc/passwd", "00001/../../x", "00001//0001", "C:/x"])
def test_vimeo_list_lines_must_stay_inside_the_root(tmp_path, line):
    from s2svr.data.registry import DatasetError
    from s2svr.data.vimeo import read_vimeo_list
    lst = tmp_path / "sep_testlist.txt"
    lst.write_text(f"00001/0001\n{line}\n")
    with pytest.raises(DatasetError, match=r"sep_testlist.txt:2: .* is not a relative septuplet key"):
        read_vimeo_list(lst)


def test_pairs_of_a_real_dataset_slice_lazily(reds_root):
    from s2svr.data.flow_pairs import SequencePairs
    pairs = SequencePairs(get_sequences("reds", reds_root, "sr", "test"))   # 4 clips of 3 frames: 8 pairs
    first = pairs[:3]                                       # `flow.eval_pairs` of a training's flow curve
    assert isinstance(first, SequencePairs) and len(pairs) == 8 and len(first) == 3
    for k in range(3):
        assert all(np.array_equal(first[k][f], pairs[k][f]) for f in ("hq1", "hq2", "lq1", "lq2"))
    assert len(pairs[6:]) == 2 and np.array_equal(pairs[6:][1]["lq2"], pairs[7]["lq2"])

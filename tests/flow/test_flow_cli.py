"""`s2svr flow`: a .flo that round-trips, a colour picture, and one-line errors; the .flo format itself."""
import numpy as np
import pytest
import torch

from s2svr.cli import main
from s2svr.data.flo import FloError, read_flo, write_flo
from s2svr.data.video_io import write_image
from s2svr.flow.pwclite import PWCLite
from s2svr.train.checkpoint import save_checkpoint
from tests.flow.test_recipe import textured


def test_flo_round_trip_and_layout(tmp_path):
    flow = np.random.default_rng(0).normal(size=(5, 7, 2)).astype(np.float32)
    p = write_flo(tmp_path / "a.flo", flow)
    data = p.read_bytes()
    assert data[:4] == b"PIEH" and np.frombuffer(data[4:12], "<i4").tolist() == [7, 5] and len(data) == 12 + 8 * 35
    assert np.array_equal(read_flo(p), flow)
    write_flo(tmp_path / "b.flo", flow.transpose(2, 0, 1))  # (2, H, W) accepted too
    assert np.array_equal(read_flo(tmp_path / "b.flo"), flow)
    (tmp_path / "bad.flo").write_bytes(data[:-8])
    with pytest.raises(FloError, match="bad.flo"):
        read_flo(tmp_path / "bad.flo")
    (tmp_path / "txt.flo").write_text("hello world, not a flow")
    with pytest.raises(FloError, match="not a .flo"):
        read_flo(tmp_path / "txt.flo")


@pytest.fixture
def images(tmp_path):
    tex = textured(112)
    a, b = tex[..., 8:104, 8:104], tex[..., 10:106, 5:101]  # a(p) = b(p + (3, -2))
    to_u8 = lambda t: (t[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # noqa: E731
    write_image(tmp_path / "a.png", to_u8(a))
    write_image(tmp_path / "b.png", to_u8(b))
    return tmp_path


def test_flow_command_writes_flo_and_png(images, capsys):
    out = images / "ab.flo"
    assert main(["flow", str(images / "a.png"), str(images / "b.png"), str(out), "--method", "dis",
                 "--png", str(images / "ab.png")]) == 0
    flow = read_flo(out)
    assert flow.shape == (96, 96, 2) and (images / "ab.png").stat().st_size > 0
    assert abs(np.median(flow[..., 0]) - 3) < 0.5 and abs(np.median(flow[..., 1]) + 2) < 0.5
    assert "DIS" in capsys.readouterr().out


def test_flow_command_with_a_checkpoint(images):
    ckpt = images / "flow_teacher.pt"
    save_checkpoint(ckpt, {"kind": "flow", "stage": "teacher", "step": 0, "model": PWCLite().state_dict(),
                           "arch": {"search_range": 4, "cost_norm": True}})
    assert main(["flow", str(images / "a.png"), str(images / "b.png"), str(images / "x.flo"),
                 "--checkpoint", str(ckpt)]) == 0
    assert read_flo(images / "x.flo").shape == (96, 96, 2)
    # --zoom runs the network at another zoom than the checkpoint's zoom in use: another flow, the same size
    assert main(["flow", str(images / "a.png"), str(images / "b.png"), str(images / "z.flo"),
                 "--checkpoint", str(ckpt), "--zoom", "2"]) == 0
    z = read_flo(images / "z.flo")
    assert z.shape == (96, 96, 2) and not np.allclose(z, read_flo(images / "x.flo"), atol=1e-4)


@pytest.mark.parametrize("case, expected", [
    ("missing", "no such file"), ("sizes", "same size"), ("notimage", "not a readable image"),
    ("suffix", "must end in .flo"), ("exists", "--overwrite"), ("input", "one of the inputs"),
    ("nockpt", "no reference model"), ("zoom", "--zoom must be > 0"), ("zoomdis", "--zoom applies to a PWC-Lite"),
])
def test_flow_command_one_line_errors(images, capsys, monkeypatch, case, expected):
    a, b, out = str(images / "a.png"), str(images / "b.png"), str(images / "o.flo")
    extra = ["--method", "dis"]
    if case == "missing":
        b = str(images / "nope.png")
    elif case == "sizes":
        write_image(images / "small.png", np.zeros((10, 12, 3), np.uint8))
        b = str(images / "small.png")
    elif case == "notimage":
        (images / "t.png").write_text("not an image")
        b = str(images / "t.png")
    elif case == "suffix":
        out = str(images / "o.png")
    elif case == "exists":
        (images / "o.flo").write_bytes(b"keep me")
    elif case == "input":  # even with --overwrite, the checkpoint it reads is never the output
        (images / "o.flo").write_bytes(b"a checkpoint")
        extra = ["--checkpoint", out, "--overwrite"]
    elif case == "nockpt":
        monkeypatch.setenv("S2SVR_WEIGHTS", str(images / "noweights"))
        extra = []
    elif case == "zoom":
        extra = ["--method", "dis", "--zoom", "0"]
    elif case == "zoomdis":
        extra = ["--method", "dis", "--zoom", "2"]
    before = {p.name: p.read_bytes() for p in images.iterdir() if p.is_file()}
    assert main(["flow", a, b, out, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in images.iterdir() if p.is_file()} == before  # nothing written or changed

"""The flow recipe's parts: normalised cost volume, range-map occlusion, lr schedule, frame swap, classical flows."""
import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from s2svr.configs import ConfigError, FlowOptimConfig, config_to_dict, flow_config
from s2svr.data.flow_pairs import PairBatches
from s2svr.flow import flow_warp
from s2svr.flow.classical import DISFlow, FarnebackFlow
from s2svr.flow.occlusion import occlusion_from_range, range_map
from s2svr.flow.nets import build_flow_net
from s2svr.flow.pwclite import PWCLite, normalise_features
from s2svr.flow.use import FlowUse
from s2svr.losses import FlowLoss
from s2svr.train.flow import FlowTrainError, build_flow_model, learning_rate, train_teacher

from tests.flow.test_flow_train import synthetic_pairs


def textured(size=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, size // 4 + 4, size // 4 + 4, generator=g)
    return F.interpolate(coarse, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)


def test_normalised_features_are_unit_and_centred():
    f1, f2 = torch.randn(2, 8, 5, 6) + 3.0, torch.randn(2, 8, 5, 6) - 1.0
    n1, n2 = normalise_features(f1, f2)
    assert torch.allclose(n1.norm(dim=1), torch.ones(2, 5, 6), atol=1e-5)
    # a shared offset of both frames' features does not change the cosine cost volume
    m1, m2 = normalise_features(f1 + 5.0, f2 + 5.0)
    assert torch.allclose(n1, m1, atol=1e-5) and torch.allclose(n2, m2, atol=1e-5)


def test_cost_norm_is_an_option_that_changes_the_flow_not_the_parameters():
    torch.manual_seed(0)
    raw, norm = PWCLite(), PWCLite(cost_norm=True)
    norm.load_state_dict(raw.state_dict())
    a, b = textured(64), textured(64, seed=1)
    assert not torch.allclose(raw(a, b), norm(a, b))
    assert norm.arch() == {"search_range": 4, "cost_norm": True}
    assert build_flow_net(flow_config(net={"cost_norm": True})).cost_norm and not build_flow_net(flow_config()).cost_norm


def test_range_map_of_zero_flow_is_one_and_a_shift_uncovers_a_border():
    assert torch.allclose(range_map(torch.zeros(1, 2, 6, 7)), torch.ones(1, 1, 6, 7))
    bw = torch.zeros(1, 2, 8, 8)
    bw[:, 0] = 2.0  # frame 2 lands 2 px to the right on frame 1: its first two columns receive nothing
    occ = occlusion_from_range(bw)
    assert occ[..., :2].eq(1).all() and occ[..., 2:].eq(0).all()


def test_range_occlusion_mode_and_its_switch():
    with pytest.raises(ValueError, match="occlusion"):
        FlowLoss(occlusion="maybe")
    pyr = {"flows_fw": [torch.zeros(1, 2, 8, 8)], "flows_bw": [torch.full((1, 2, 8, 8), 2.0)]}
    loss = FlowLoss(occlusion="range", w_scales=(1.0,), w_sm_scales=(1.0,))
    vis_range = loss._check(pyr["flows_fw"], pyr["flows_bw"])
    loss.occlusion = "fb"
    vis_fb = loss._check(pyr["flows_fw"], pyr["flows_bw"])
    assert vis_range.mean() == pytest.approx(36 / 64) and vis_fb.mean() == 0  # F12 = 0 and F21 = 2: inconsistent
    assert FlowLoss.from_config(flow_config(loss={"occlusion": "range"}).loss).occlusion == "range"


def test_learning_rate_warmup_then_cosine():
    cfg = FlowOptimConfig(lr=1e-3, warmup_iters=10, schedule="cosine", lr_min=1e-5)
    lrs = [learning_rate(cfg, s, 110) for s in range(110)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] == pytest.approx(1e-5, rel=1e-2)
    assert learning_rate(FlowOptimConfig(lr=2e-4), 50, 100) == 2e-4
    with pytest.raises(ValueError, match="flow.optim.schedule"):
        FlowOptimConfig(schedule="step")


def test_swap_exchanges_frames_and_ground_truth():
    pairs = synthetic_pairs(n=2, size=64)
    plain = PairBatches(pairs, 8, 64, seed=3)
    swapped = PairBatches(pairs, 8, 64, seed=3, swap=True)
    for step in range(3):
        a, b = plain.batch(step), swapped.batch(step)
        same = (a["hq1"] == b["hq1"]).flatten(1).all(1)
        flipped = (a["hq1"] == b["hq2"]).flatten(1).all(1) & (a["flow_gt"] == b["flow_gt_bw"]).flatten(1).all(1)
        assert (same | flipped).all()
    assert any((~(plain.batch(s)["hq1"] == swapped.batch(s)["hq1"]).flatten(1).all(1)).any() for s in range(3))


def test_gradient_clipping_is_logged_and_bounds_the_update():
    cfg = flow_config(budget={"iters": 2, "batch_size": 2, "save_every": 100, "log_every": 1},
                      augment={"patch_size": 64}, optim={"grad_clip": 1e-3})
    res = train_teacher(PWCLite(), PairBatches(synthetic_pairs(), 2, 64), cfg, progress=False)
    assert all("grad_norm" in row for _, row in res.history)


@pytest.mark.parametrize("net", [DISFlow(), FarnebackFlow()])
def test_classical_flows_find_a_known_shift(net):
    tex = textured(112)
    dx, dy = 3, -2
    a = tex[..., 8:104, 8:104]
    b = tex[..., 8 - dy:104 - dy, 8 - dx:104 - dx]  # b(p) = a(p - d)  ->  a(p) = b(p + d)
    fw, bw = net(a, b, with_bw=True)
    inner = (slice(None), slice(None), slice(16, -16), slice(16, -16))
    assert fw.shape == (1, 2, 96, 96)
    assert (fw[inner][:, 0] - dx).abs().mean() < 0.5 and (fw[inner][:, 1] - dy).abs().mean() < 0.5
    assert (bw[inner][:, 0] + dx).abs().mean() < 0.5
    err = (flow_warp(b, fw) - a)[inner].abs().mean()
    assert err < (b - a)[inner].abs().mean() / 3


def test_eval_curve_is_written_once_per_step_across_a_resume(tmp_path):
    cfg = flow_config(budget={"iters": 3, "batch_size": 2, "save_every": 1, "log_every": 1, "eval_every": 1},
                      augment={"patch_size": 64})
    calls = []

    def evaluate(model):
        calls.append(model.training)
        return {"epe_all": float(len(calls))}
    batches = PairBatches(synthetic_pairs(), 2, 64)
    train_teacher(PWCLite(), batches, cfg, out_dir=tmp_path, progress=False, max_steps=2, evaluate=evaluate)
    train_teacher(PWCLite(), batches, cfg, out_dir=tmp_path, progress=False, resume=True, evaluate=evaluate)
    rows = (tmp_path / "flow_teacher_eval.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["step", "epe_all"] and [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    assert all(calls)  # evaluated on the model being trained, which stays in train mode


def test_real_footage_fraction_of_a_batch():
    from s2svr.data.flow_pairs import pair_weights
    pairs = [{"x": i} for i in range(4)] + [{"x": i, "real_footage": True} for i in range(12)]
    w = pair_weights(pairs, 0.25)
    assert w[:4].sum() == pytest.approx(0.75) and w[4:].sum() == pytest.approx(0.25)
    assert pair_weights(pairs, 0.0) is None and pair_weights(pairs[:4], 0.5) is None
    with pytest.raises(ValueError, match="train_video"):
        pair_weights(pairs, 1.5)
    synth = synthetic_pairs(n=2, size=64)
    only_first = PairBatches(synth, 16, 64, seed=0, weights=[1.0, 0.0]).batch(0)
    first = PairBatches(synth[:1], 16, 64, seed=0).batch(0)
    assert only_first["flow_gt"].shape == first["flow_gt"].shape
    assert (only_first["flow_gt"][:, 0] == synth[0]["flow_fw"][0, 0, 0]).all()  # every draw is pair 0


def _warp_error(batch):
    """Mean |warp(hq2, flow_gt) - hq1| away from the border, where the translated texture is defined."""
    err = (flow_warp(batch["hq2"], batch["flow_gt"]) - batch["hq1"]).abs()[..., 4:-4, 4:-4]
    return float(err.mean())


def test_dihedral_augmentation_keeps_the_flow_between_the_frames():
    pairs = synthetic_pairs(n=3, size=64)
    plain = PairBatches(pairs, 16, 64, seed=1, flip=True)
    dihedral = PairBatches(pairs, 16, 64, seed=1, flip=True, dihedral=True)
    a, b = plain.batch(0), dihedral.batch(0)
    assert _warp_error(b) < 0.01 and _warp_error(a) < 0.01
    # the translations of synthetic_pairs have u != v: a transposed sample shows (v, u) instead of (u, v)
    uv = lambda bt: {tuple(f[:, 10, 10].round().tolist()) for f in bt["flow_gt"]}  # noqa: E731
    assert uv(b) - uv(a), "no vertical flip or transpose drawn in 16 samples"
    same_draws = PairBatches(pairs, 16, 64, seed=1, flip=True, dihedral=False, jitter=0.0)
    assert torch.equal(same_draws.batch(0)["hq1"], a["hq1"])  # the new options off: the batches of before


def test_jitter_changes_both_frames_alike():
    tex = synthetic_pairs(n=1, size=64)[0]
    still = [{**tex, "hq2": tex["hq1"], "lq2": tex["lq1"]}]  # identical frames must stay identical
    b = PairBatches(still, 8, 64, seed=0, jitter=0.3).batch(0)
    plain = PairBatches(still, 8, 64, seed=0).batch(0)
    assert torch.equal(b["hq1"], b["hq2"]) and torch.equal(b["lq1"], b["lq2"])
    assert not torch.allclose(b["hq1"], plain["hq1"]) and b["hq1"].min() >= 0 and b["hq1"].max() <= 1
    with pytest.raises(ValueError, match="jitter"):
        PairBatches(still, 2, 64, jitter=-0.1)


def test_options_given_at_their_defaults_leave_keys_unchanged():
    from s2svr.experiments import FlowJob, key
    base = FlowJob("sr_reds4", "ci", "teacher")
    explicit = base.with_overrides(flow={"augment": {"flips": "hflip", "jitter": 0.0}, "zoom": 1.0, "lq_zoom": None,
                                         "pad": False, "loss": {"smooth_order": 1, "occlusion": "range"},
                                         "stage1": {"after": 1, "loss": {"occlusion": "fb"}}})
    assert key(explicit) == key(base)
    assert key(base.with_overrides(flow={"loss": {"smooth_order": 2}})) != key(base)
    assert key(base.with_overrides(flow={"augment": {"flips": "dihedral"}})) != key(base)
    assert key(base.with_overrides(flow={"augment": {"jitter": 0.1}})) != key(base)
    assert key(base.with_overrides(flow={"stage1": {"after": 2, "loss": {"occlusion": "fb"}}})) != key(base)


def test_zoom_enlarges_the_frames_the_network_works_on_and_is_a_use_not_a_layer():
    torch.manual_seed(0)
    plain, zoomed = PWCLite(cost_norm=True), PWCLite(cost_norm=True).using(zoom=2.0)
    zoomed.load_state_dict(plain.state_dict())
    a, b = textured(64)[..., :64, :64], textured(64, seed=1)[..., :64, :64]
    assert plain.forward_pyramid(a, b)["size"] == (64, 64) and zoomed.forward_pyramid(a, b)["size"] == (128, 128)
    assert zoomed(a, b).shape == (1, 2, 64, 64)  # in use: the flow at the input's size, in its pixels
    # zoom 2 on 64 px is zoom 1 on the same frames enlarged to 128 px, the flow brought back
    big = [F.interpolate(x, size=(128, 128), mode="bilinear", align_corners=False) for x in (a, b)]
    expected = F.interpolate(plain(*big), size=(64, 64), mode="bilinear", align_corners=False) / 2
    assert torch.allclose(zoomed(a, b), expected, atol=1e-5)
    assert zoomed.arch() == plain.arch() == {"search_range": 4, "cost_norm": True}  # layers only
    assert torch.equal(plain(a, b, zoom=2.0), zoomed(a, b))  # the one function of use, with this call's zoom
    assert build_flow_model(flow_config(zoom=2.0), "hq").use == FlowUse(zoom=2.0)
    with pytest.raises(ValueError, match="zoom"):
        FlowUse(zoom=0)
    with pytest.raises(ValueError, match="zoom"):
        plain(a, b, zoom=-1.0)


def test_lq_zoom_builds_the_students_and_the_restorers_flow_net():
    cfg = flow_config(zoom=2.0, lq_zoom=8.0, pad=True)
    assert build_flow_model(cfg, "hq").use == FlowUse(2.0, True) and build_flow_model(cfg, "lq").use.zoom == 8.0
    assert build_flow_model(flow_config(zoom=2.0), "lq").use.zoom == 2.0  # lq_zoom None (no experiment): zoom
    net = build_flow_net(cfg)
    assert net.arch() == {"search_range": 4, "cost_norm": False} and net.use == FlowUse(zoom=8.0, pad=True)


def test_pad_zooms_any_size_exactly_and_matches_resizing_on_multiples_of_64():
    torch.manual_seed(0)
    resized, padded = PWCLite(cost_norm=True).using(zoom=2.0), PWCLite(cost_norm=True).using(zoom=2.0, pad=True)
    padded.load_state_dict(resized.state_dict())
    a, b = textured(64)[..., :64, :64], textured(64, seed=1)[..., :64, :64]
    assert torch.allclose(resized(a, b), padded(a, b), atol=1e-6)  # 128 px: nothing to pad
    # 40 x 24 -> 80 x 48 padded to 128 x 64: the network sees the frames zoomed x2 in both directions, and the
    # flow of the unpadded region is what the same network gives on the zoomed frames padded by hand
    a, b = a[..., :24, :40], b[..., :24, :40]
    fw, bw = padded(a, b, with_bw=True)
    assert fw.shape == bw.shape == (1, 2, 24, 40)
    big = [F.pad(F.interpolate(x, size=(48, 80), mode="bilinear", align_corners=False), (0, 48, 0, 16),
                 mode="replicate") for x in (a, b)]
    plain = PWCLite(cost_norm=True)
    plain.load_state_dict(resized.state_dict())
    expected = F.interpolate(plain(*big)[..., :48, :80], size=(24, 40), mode="bilinear", align_corners=False) / 2
    assert torch.allclose(fw, expected, atol=1e-5)
    assert not torch.allclose(resized(a, b), fw, atol=1e-3)  # resizing to 64 x 128 zooms y by 2.67, not 2


CENSUS = {"occlusion": "fb", "w_l1": 0.0, "w_ssim": 0.0, "w_census": 1.0}  # the cpu recipe's stage 1


def test_stage1_switches_the_loss_fields_from_its_step_on():
    cfg = flow_config(loss={"occlusion": "range"}, stage1={"after": 3, "loss": CENSUS})
    assert cfg.loss_at(2) == cfg.loss and cfg.loss_at(2).occlusion == "range"
    staged = FlowLoss.from_config(cfg.loss_at(3))
    assert staged.occlusion == "fb" and cfg.loss_at(10) == cfg.loss_at(3)
    # ARFlow's census weight 1 on the whole photometric term: 1 / w_ph inside rho, which w_ph scales; bit for bit
    # what the trainer's switch of before set (`rho = {w_l1: 0, w_ssim: 0, w_census: 1.0 / w_ph}`)
    assert staged.rho == {"w_l1": 0.0, "w_ssim": 0.0, "w_census": 1.0 / 0.15}
    assert FlowLoss.from_config(cfg.loss).rho == FlowLoss().rho  # before it: L1 + SSIM as always
    assert flow_config().loss_at(10 ** 6) == flow_config().loss  # no stage1: one loss all along


def _old_switch_run(model, batches, cfg, warmup: int, census: bool, steps: int):
    """The trainer's loop as it was before `stage1` (occ_warmup_iters, census_after_warmup and a mutation of the
    loss at every step), written out: the reference for the staged override."""
    from s2svr.train.flow import stage_loss
    from s2svr.utils import seed_everything
    seed_everything(0)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
    loss_fn = FlowLoss.from_config(dataclasses.replace(cfg.loss, occlusion="fb"))
    source = batches.iterate(0)
    for step in range(steps):
        batch = next(source)
        loss_fn.occlusion = "range" if step < warmup else "fb"
        if census and step >= warmup:
            loss_fn.rho = dict(w_l1=0.0, w_ssim=0.0, w_census=1.0 / loss_fn.w_ph)
        for group in opt.param_groups:
            group["lr"] = learning_rate(cfg.optim, step, steps)
        total, _ = stage_loss("teacher", model, batch, loss_fn)
        opt.zero_grad(set_to_none=True)
        total.backward()
        if cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
        opt.step()
    return model


@pytest.mark.parametrize("census", [False, True])
def test_the_staged_override_trains_bit_for_bit_as_the_switch_of_before(census):
    steps, warmup = 4, 2
    cfg = flow_config(loss={"occlusion": "range"},
                      stage1={"after": warmup, "loss": CENSUS if census else {"occlusion": "fb"}},
                      optim={"lr": 3e-4, "warmup_iters": 1, "schedule": "cosine", "lr_min": 1e-5, "grad_clip": 10.0},
                      budget={"iters": steps, "batch_size": 2, "save_every": 100, "log_every": 1},
                      augment={"patch_size": 64})
    torch.manual_seed(0)
    first = PWCLite(cost_norm=True)
    new, old = copy.deepcopy(first), copy.deepcopy(first)
    batches = PairBatches(synthetic_pairs(), 2, 64, seed=0, flip=True, swap=True)
    res = train_teacher(new, batches, cfg, progress=False, seed=0)
    _old_switch_run(old, batches, cfg, warmup, census, steps)
    assert all(torch.equal(a, b) for a, b in zip(new.state_dict().values(), old.state_dict().values()))
    assert res.history[warmup - 1][1]["ph"] != res.history[warmup][1]["ph"]


def test_student_init_from_the_teacher(tmp_path):
    from s2svr.configs import load_config
    from s2svr.train.flow import run_stage
    from s2svr.train.loading import load_flow_net
    over = {"flow": {"zoom": 2.0, "lq_zoom": 8.0, "budget": {"iters": 1, "eval_every": 0}}}
    cfg = load_config("sr_reds4", "ci", overrides=over)
    teacher = run_stage(cfg, "teacher", tmp_path / "t", device="cpu", progress=False).checkpoint
    with pytest.raises(ConfigError, match="flow.student_init must be one of"):
        load_config("sr_reds4", "ci", overrides={"flow": {**over["flow"], "student_init": "copy"}})
    off_grid = load_config("sr_reds4", "ci", overrides={"flow": {**over["flow"], "student_init": "teacher",
                                                                 "lq_zoom": 4.0}})
    with pytest.raises(FlowTrainError, match=r"lq_zoom = flow.zoom x model.scale = 2 x 4"):
        run_stage(off_grid, "student", tmp_path / "off", teacher=teacher, device="cpu", progress=False)
    init = load_config("sr_reds4", "ci", overrides={"flow": {**over["flow"], "student_init": "teacher",
                                                             "optim": {"lr": 1e-12, "lr_min": 0.0,
                                                                       "warmup_iters": 0}}})
    student = run_stage(init, "student", tmp_path / "s", teacher=teacher, device="cpu", progress=False).checkpoint
    t, s = load_flow_net(teacher), load_flow_net(student)
    assert (t.use.zoom, s.use.zoom) == (2.0, 8.0)  # each runs at the zoom it trained at
    # one step at lr 1e-12: the student still holds the teacher's weights
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(t.state_dict().values(), s.state_dict().values()))
    scratch = load_config("sr_reds4", "ci", overrides={"flow": {**config_to_dict(init)["flow"],
                                                                "student_init": "scratch"}})
    other = load_flow_net(run_stage(scratch, "student", tmp_path / "x", teacher=teacher, device="cpu",
                                    progress=False).checkpoint)
    assert not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(t.state_dict().values(), other.state_dict().values()))


def test_nodistill_control_starts_from_the_teacher_when_the_student_does(tmp_path):
    from s2svr.configs import load_config
    from s2svr.train.flow import run_stage
    from s2svr.train.loading import load_flow_net
    over = {"flow": {"budget": {"iters": 1, "eval_every": 0}, "student_init": "teacher", "lq_zoom": 4.0,
                     "optim": {"lr": 1e-12, "lr_min": 0.0, "warmup_iters": 0}}}
    cfg = load_config("sr_reds4", "ci", overrides=over)
    with pytest.raises(FlowTrainError, match="needs --teacher"):
        run_stage(cfg, "student-nodistill", tmp_path / "n0", device="cpu", progress=False)
    teacher = run_stage(load_config("sr_reds4", "ci", overrides={"flow": {"budget": {"iters": 1, "eval_every": 0}}}),
                        "teacher", tmp_path / "t", device="cpu", progress=False).checkpoint
    ckpt = run_stage(cfg, "student-nodistill", tmp_path / "n", teacher=teacher, device="cpu", progress=False).checkpoint
    t, n = load_flow_net(teacher), load_flow_net(ckpt)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(t.state_dict().values(), n.state_dict().values()))


def test_plan_gives_the_nodistill_control_the_teacher_only_when_students_start_from_it(monkeypatch):
    from s2svr.experiments import plan
    jobs = plan.jobs("ci")
    assert jobs["flow/sr/student-nodistill"].teacher is None  # profile ci: students from scratch
    real = plan.load_config
    monkeypatch.setattr(plan, "load_config", lambda *a, **k: real(*a, overrides={"flow": {"student_init": "teacher"}}))
    jobs = plan.jobs("ci")
    assert jobs["flow/sr/student-nodistill"].teacher is jobs["flow/teacher"]


def test_restorer_runs_an_hq_flow_net_at_the_configs_lq_zoom_and_refuses_other_layers(tmp_path):
    from s2svr.configs import load_config
    from s2svr.models import build_model
    from s2svr.train.checkpoint import save_checkpoint
    from s2svr.train.loading import load_flow_net
    from s2svr.train.trainer import TrainingError, load_flow_init
    cfg = load_config("sr_reds4", "ci", overrides={"flow": {"zoom": 2.0, "lq_zoom": 8.0, "pad": True}})
    hq = PWCLite(cost_norm=True).using(zoom=2.0)  # trained on HQ frames (the supervised-hq control)
    path = tmp_path / "flow_supervised.pt"
    save_checkpoint(path, {"kind": "flow", "stage": "supervised", "arch": hq.arch(), "use": hq.use.as_dict(),
                           "model": hq.state_dict()})
    model = build_model(cfg.model, flow_net=build_flow_net(cfg.flow))
    load_flow_init(model, str(path))
    assert model.flow.use == FlowUse(zoom=8.0, pad=True)  # the config's use, the checkpoint's weights
    assert all(torch.equal(a, b) for a, b in zip(hq.state_dict().values(), model.flow.state_dict().values()))
    assert load_flow_net(path).use == FlowUse(zoom=2.0)  # alone: the use it trained at
    # written before the use left the arch: zoom, pad and a teacher's infer_zoom in it; read as layers + use
    old = {"search_range": 4, "cost_norm": True, "zoom": 2.0, "pad": True, "infer_zoom": 4.0}
    save_checkpoint(path, {"kind": "flow", "stage": "teacher", "arch": old, "model": hq.state_dict()})
    load_flow_init(model, str(path))
    assert load_flow_net(path).use == FlowUse(zoom=2.0, pad=True)  # the zoom in use is an argument now
    assert load_flow_net(path, zoom=4.0).use == FlowUse(zoom=4.0, pad=True)
    raw = PWCLite(cost_norm=False)
    save_checkpoint(path, {"kind": "flow", "stage": "supervised", "arch": raw.arch(), "model": raw.state_dict()})
    with pytest.raises(TrainingError, match="cost_norm"):
        load_flow_init(model, str(path))


def test_the_zoom_in_use_is_an_argument_of_evaluation_and_use(tmp_path):
    from s2svr.configs import load_config
    from s2svr.data.flow_pairs import truth_pairs
    from s2svr.train.flow import run_stage
    from s2svr.train.flow_evaluate import evaluate_flow
    from s2svr.train.loading import load_flow_net
    over = {"flow": {"zoom": 2.0, "pad": True, "budget": {"iters": 1, "eval_every": 1, "eval_pairs": 2}}}
    cfg = load_config("sr_reds4", "ci", overrides=over)
    runs = {z: run_stage(cfg, "teacher", tmp_path / str(z), device="cpu", progress=False, use_zoom=z)
            for z in (None, 4.0)}
    # the same training whatever the zoom in use; the checkpoint records the use it trained at
    nets = {z: load_flow_net(r.checkpoint) for z, r in runs.items()}
    assert all(torch.equal(a, b) for a, b in zip(nets[None].state_dict().values(), nets[4.0].state_dict().values()))
    assert nets[4.0].use == FlowUse(zoom=2.0, pad=True) and nets[4.0].arch() == {"search_range": 4, "cost_norm": True}
    # its evaluation curve ran at the zoom in use: what the loaded net gives at that zoom
    pairs = truth_pairs(cfg, "test")[:2]
    for z, r in runs.items():
        row = (r.checkpoint.parent / "flow_teacher_eval.csv").read_text().splitlines()
        logged = float(row[1].split(",")[row[0].split(",").index("epe_all")])
        assert logged == pytest.approx(evaluate_flow(load_flow_net(r.checkpoint, zoom=z), pairs, "hq")["epe_all"],
                                       rel=1e-5)
    with pytest.raises(FlowTrainError, match="zoom in use"):
        run_stage(cfg, "teacher", tmp_path / "bad", device="cpu", progress=False, use_zoom=-1.0)


def test_distillation_labels_at_the_teachers_training_zoom():
    from s2svr.train.flow import stage_loss
    torch.manual_seed(0)
    teacher = PWCLite(cost_norm=True).using(zoom=2.0, pad=True).eval()
    student = PWCLite(cost_norm=True).using(zoom=8.0)
    hq = torch.cat([textured(64), textured(64, seed=1)])
    batch = {"hq1": hq[:1], "hq2": hq[1:], "lq1": F.avg_pool2d(hq[:1], 4), "lq2": F.avg_pool2d(hq[1:], 4)}
    loss = FlowLoss.from_config(flow_config(loss={"w_dis": 1.0}).loss)
    at2, _ = stage_loss("student", student, batch, loss, teacher)
    again, _ = stage_loss("student", student, batch, loss, copy.deepcopy(teacher))
    assert torch.equal(at2, again)
    other, _ = stage_loss("student", student, batch, loss, teacher.using(zoom=4.0))  # another zoom: other labels
    assert not torch.allclose(at2, other)


def test_the_zoom_in_use_is_in_no_key():
    from s2svr.experiments import FlowJob, RestoreJob, key
    teacher = FlowJob("sr_reds4", "ci", "teacher")
    student = FlowJob("sr_reds4", "ci", "student", teacher=teacher)
    restorer = RestoreJob("sr_reds4", "ci", arch="s2svr", flow=student)
    used = dataclasses.replace(teacher, use_zoom=4.0)
    assert key(used) == key(teacher) and used.use == {"zoom": 4.0} and teacher.use == {}
    assert key(FlowJob("sr_reds4", "ci", "student", teacher=used)) == key(student)
    assert key(RestoreJob("sr_reds4", "ci", arch="s2svr", flow=FlowJob("sr_reds4", "ci", "student", teacher=used))) \
        == key(restorer)
    assert key(student.with_overrides(flow={"zoom": 3.0})) != key(student)  # what it trained at still counts
    assert used.with_overrides(flow={"zoom": 3.0}).use_zoom == 4.0  # overrides keep the use

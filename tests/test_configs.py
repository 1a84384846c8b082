import pytest

from s2svr.configs import EXPERIMENTS, PROFILES, ConfigError, config_from_dict, config_to_dict, load_config


@pytest.mark.parametrize("name", EXPERIMENTS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_packaged_config_loads(name, profile):
    cfg = load_config(name, profile)
    assert cfg.profile == profile and cfg.name == name
    assert config_from_dict(config_to_dict(cfg)) == cfg  # round trip through plain dicts (checkpoints)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_profiles_differ_only_in_sizes_and_budgets(name):
    paper, ci = load_config(name, "paper"), load_config(name, "ci")
    assert paper.model.task == ci.model.task and paper.model.layout == ci.model.layout
    assert paper.model.radius == ci.model.radius and paper.model.scale == ci.model.scale
    assert paper.flow.loss.w_ph == ci.flow.loss.w_ph and paper.flow.loss.w_sm == ci.flow.loss.w_sm
    assert paper.flow.loss.w_dis == ci.flow.loss.w_dis
    assert paper.train.lr == ci.train.lr and paper.train.betas == ci.train.betas


def test_unknown_key_is_an_error_that_names_it(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nmodel: {task: sr, num_blok: 3}\nprofiles: {ci: {}}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'model.num_blok'"):
        load_config(p, "ci")


def test_unknown_key_in_profile_and_bad_values(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nprofiles: {ci: {train: {itres: 3}}}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'train.itres'"):
        load_config(p, "ci")
    p.write_text("name: x\nmodel: {task: denoise}\nprofiles: {ci: {}}\n")
    with pytest.raises(ConfigError, match=r"model.task must be one of"):
        load_config(p, "ci")
    with pytest.raises(ConfigError, match=r"unknown profile 'gpu'"):
        load_config("sr_reds4", "gpu")
    with pytest.raises(ConfigError, match=r"no such config"):
        load_config("sr_redz", "ci")


def test_configs_are_frozen():
    cfg = load_config("sr_reds4", "ci")
    with pytest.raises(Exception):
        cfg.model.num_feat = 3


def test_the_cpu_flow_recipe_is_written_once_in_sections_and_lq_zoom_follows_the_scale(tmp_path):
    import yaml

    from s2svr.configs import RECIPES
    recipe = yaml.safe_load(RECIPES.read_text())["cpu_flow"]["flow"]
    assert set(recipe) <= {"net", "loss", "stage1", "optim", "augment", "budget", "zoom", "pad", "student_init"}
    for name in EXPERIMENTS:
        cfg = load_config(name, "cpu")
        flow = config_to_dict(cfg)["flow"]
        for section, values in recipe.items():
            assert (flow[section] if not isinstance(values, dict) else
                    {k: flow[section][k] for k in values}) == values, (name, section)
        # derived, not written per task: the student on its teacher's grid
        assert cfg.flow.lq_zoom == cfg.flow.zoom * cfg.model.scale == {"sr": 8, "deblur": 2, "vqe": 2}[cfg.model.task]
    # the profile's own keys win over the recipe's
    assert load_config("sr_reds4", "cpu", overrides={"flow": {"budget": {"iters": 7}}}).flow.budget.iters == 7
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\nprofiles:\n  cpu: {recipe: no_such_recipe}\n")
    with pytest.raises(ConfigError, match="x.yaml: profile 'cpu': unknown recipe 'no_such_recipe'"):
        load_config(bad, "cpu")


def test_lq_zoom_is_derived_unless_given():
    scratch = load_config("sr_reds4", "ci")  # students from scratch: the LQ networks at zoom (1)
    assert scratch.flow.student_init == "scratch" and scratch.flow.lq_zoom == scratch.flow.zoom == 1.0
    teacher = load_config("sr_reds4", "ci", overrides={"flow": {"zoom": 2, "student_init": "teacher"}})
    assert teacher.flow.lq_zoom == 8  # zoom x scale: the only grid a student can start from its teacher on
    # a restorer may run its flow net at another zoom than its student trained at (the restorer study)
    given = load_config("sr_reds4", "cpu", overrides={"flow": {"lq_zoom": 4}})
    assert given.flow.lq_zoom == 4 and given.flow.zoom_of("hq") == 2
    assert config_from_dict(config_to_dict(given)) == given


@pytest.mark.parametrize("flow, message", [
    ({"optim": {"schedule": "step"}}, r"flow.optim.schedule must be one of \('constant', 'cosine'\), got 'step'"),
    ({"net": {"type": "raft"}}, r"flow.net.type must be one of \('pwclite', 'dis', 'farneback'\), got 'raft'"),
    ({"augment": {"flips": "all"}}, r"flow.augment.flips must be one of"),
    ({"loss": {"smooth_order": 3}}, r"flow.loss.smooth_order must be one of \(1, 2\), got 3"),
    ({"loss": {"occlusion": "maybe"}}, r"flow.loss.occlusion must be one of \('fb', 'range', 'none'\)"),
    ({"student_init": "copy"}, r"flow.student_init must be one of \('scratch', 'teacher'\), got 'copy'"),
    ({"stage1": {"after": 5, "loss": {"occlusion": "later"}}}, r"flow.stage1.loss.occlusion must be one of"),
    ({"stage1": {"after": 5, "loss": {"w_cencus": 1.0}}}, r"unknown key 'flow.stage1.loss.w_cencus'"),
    ({"stage1": {"after": 5, "loss": {"w_census": "one"}}}, r"flow.stage1.loss.w_census must be a number"),
    ({"stage1": {"after": -1}}, r"flow.stage1.after must be a step"),
    ({"stage1": 3}, r"'flow.stage1' must be a mapping"),
    ({"optim": {"lr": "fast"}}, r"flow.optim.lr must be a number, got 'fast'"),
    ({"budget": {"itres": 3}}, r"unknown key 'flow.budget.itres'"),
    ({"lr": 1e-3}, r"unknown key 'flow.lr' \(moved to flow.optim.lr\)"),
    ({"occ_warmup_iters": 3}, r"unknown key 'flow.occ_warmup_iters' \(moved to flow.loss.occlusion and flow.stage1\)"),
    ({"infer_zoom": 4}, r"unknown key 'flow.infer_zoom' \(moved to nowhere: the zoom in use is an argument of use"),
])
def test_a_wrong_flow_value_is_one_error_naming_its_field(flow, message):
    with pytest.raises(ConfigError, match=r"sr_reds4.yaml: " + message):
        load_config("sr_reds4", "ci", overrides={"flow": flow})


def test_sections_are_checked_when_built_directly_too():
    from s2svr.configs import FlowOptimConfig, FlowStage, flow_config
    with pytest.raises(ValueError, match="flow.optim.schedule"):
        FlowOptimConfig(schedule="step")
    with pytest.raises(ValueError, match="unknown key 'flow.stage1.loss.nope'"):
        FlowStage(after=1, loss={"nope": 1})
    assert hash(flow_config(stage1={"after": 2, "loss": {"w_scales": [1, 0]}}))  # hashable (lru caches use configs)
    assert flow_config(stage1={"after": 2, "loss": {"w_scales": [1, 0]}}).stage1.loss["w_scales"] == (1, 0)


def test_a_flat_flow_section_of_before_loads_into_the_sections():
    """Old checkpoints, job records and the shipped manifest carry the flat flow section of before; entries
    exported since carry the sections, and both load."""
    import json

    from s2svr.configs.flat import flat_from_sections, sections_from_flat
    from s2svr.reference import manifest
    flat = {n: e for n, e in manifest().items() if "lr" in e["config"]["flow"]}  # written before the sections
    assert flat and "flow/teacher" in flat  # the flow stages are still those of before
    for name, entry in manifest().items():
        if name not in flat:  # exported since, or with no flow net: today's layout (or none) loads as it is
            assert not entry["config"]["flow"] or "optim" in entry["config"]["flow"], name
            config_from_dict(entry["config"], name)
    for name, entry in flat.items():
        old = entry["config"]
        new = config_to_dict(config_from_dict(old, name))  # (fields added since then: at their defaults)
        for section, values in old.items():
            if section == "flow" and values:
                values = {k: v for k, v in values.items() if k != "infer_zoom"}  # a use, not a config field now
                back = flat_from_sections(new["flow"])
                assert json.dumps({k: back[k] for k in values}, sort_keys=True) == json.dumps(values, sort_keys=True)
            elif section != "flow":
                assert (new[section] if not isinstance(values, dict) else
                        {k: new[section][k] for k in values}) == values, (name, section)
    teacher = config_from_dict(manifest()["flow/teacher"]["config"])
    today = load_config("sr_reds4", "cpu")  # the shipped teacher's flow recipe is today's (what a flow stage reads)
    assert (teacher.flow, teacher.seed, teacher.data.dataset) == (today.flow, today.seed, today.data.dataset)
    assert teacher.flow.stage1.after == 300 and teacher.flow.loss.occlusion == "range"
    assert teacher.flow.stage1.loss == {"occlusion": "fb", "w_l1": 0.0, "w_ssim": 0.0, "w_census": 1.0}
    # the two switches, one at a time, and null lq_zoom (then: zoom)
    assert sections_from_flat({"occ_warmup_iters": 5, "zoom": 2.0, "lq_zoom": None}) == {
        "loss": {"occlusion": "range"}, "stage1": {"after": 5, "loss": {"occlusion": "fb"}}, "zoom": 2.0,
        "lq_zoom": 2.0}
    assert sections_from_flat({"occ_warmup_iters": 0, "census_after_warmup": True, "lr": 1e-3, "net": "dis"}) == {
        "stage1": {"after": 0, "loss": {"w_l1": 0.0, "w_ssim": 0.0, "w_census": 1.0}}, "optim": {"lr": 1e-3},
        "net": {"type": "dis"}}
    # a record that mixes both (flat names beside sections) is read too; the sections win
    assert config_from_dict({"flow": {"lr": 1e-3, "optim": {"lr": 2e-3}, "augment": "dihedral"}}).flow.optim.lr == 2e-3

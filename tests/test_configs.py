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
    assert paper.flow.w_ph == ci.flow.w_ph and paper.flow.w_sm == ci.flow.w_sm and paper.flow.w_dis == ci.flow.w_dis
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


def test_the_cpu_flow_recipe_is_written_once_and_each_task_adds_its_own_lq_zoom(tmp_path):
    import yaml

    from s2svr.configs import RECIPES
    recipe = yaml.safe_load(RECIPES.read_text())["cpu_flow"]["flow"]
    for name in EXPERIMENTS:
        cfg = load_config(name, "cpu")
        assert {k: getattr(cfg.flow, k) for k in recipe} == recipe
        assert cfg.flow.lq_zoom == cfg.flow.zoom * cfg.model.scale  # the student on its teacher's grid
    # the profile's own keys win over the recipe's
    assert load_config("sr_reds4", "cpu", overrides={"flow": {"iters": 7}}).flow.iters == 7
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\nprofiles:\n  cpu: {recipe: no_such_recipe}\n")
    with pytest.raises(ConfigError, match="x.yaml: profile 'cpu': unknown recipe 'no_such_recipe'"):
        load_config(bad, "cpu")

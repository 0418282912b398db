"""Configs: shipped names, YAML paths, --set overrides, unknown keys."""
from __future__ import annotations

import pytest
import yaml

from renovo.errors import RenovoError
from renovo.train.config import ConfigError, available_configs, load_config, parse_override, save_config, validate_config

SHIPPED = [
    "ce_only", "default", "gaussian_log1p", "gaussian_losses", "gaussian_multiscale",
    "gaussian_straight_through", "gaussian_variance_aware", "huber_l1", "old_losses",
]


def test_every_shipped_config_loads():
    assert set(SHIPPED) <= set(available_configs())
    for name in SHIPPED:
        config = load_config(name)
        assert config["name"] == name
        validate_config(config)


def test_named_configs_set_their_losses():
    assert load_config("old_losses")["loss"]["spectrum"]["type"] == "huber"
    assert load_config("old_losses")["loss"]["precursor"]["type"] == "log1p"
    assert load_config("huber_l1")["loss"]["precursor"]["type"] == "scaled_l1"
    assert load_config("gaussian_multiscale")["loss"]["spectrum"]["sigma"] == [0.05, 0.5, 2.0]
    assert load_config("gaussian_variance_aware")["loss"]["spectrum"]["variance_aware"] is True
    assert load_config("gaussian_straight_through")["loss"]["spectrum"]["mass_mode"] == "straight_through"
    stages = load_config("ce_only")["curriculum"]["stages"]
    assert all(s.get("spectrum", 0) == 0 and s.get("precursor", 0) == 0 for s in stages)
    # old_losses keeps the default table: precursor starts at 20k of 100k.
    old = load_config("old_losses")["curriculum"]["stages"]
    assert min(s["start"] for s in old if s["precursor"] != 0.0) == 20000


def test_overrides_are_yaml_typed():
    config = load_config(
        "gaussian_losses",
        ["optim.lr=1e-3", "loss.spectrum.sigma=[0.05, 0.5]", "trainer.precision=bf16-mixed", "model.preset=tiny",
         "data.simulator.noise_peaks_mean=5"],
    )
    assert config["optim"]["lr"] == pytest.approx(1e-3)
    assert config["loss"]["spectrum"]["sigma"] == [0.05, 0.5]
    assert config["trainer"]["precision"] == "bf16-mixed"
    assert config["data"]["simulator"] == {"noise_peaks_mean": 5.0}  # a number key: read as a float
    assert parse_override("a.b=true") == {"a": {"b": True}}


def test_unknown_key_lists_valid_keys():
    with pytest.raises(RenovoError, match=r"unknown config key 'optim.learning_rate'.*lr.*warmup_steps"):
        load_config(overrides=["optim.learning_rate=0.1"])
    with pytest.raises(RenovoError, match="unknown config key 'bogus'"):
        load_config(overrides=["bogus=1"])
    with pytest.raises(RenovoError, match="key.sub=value"):
        load_config(overrides=["optim.lr"])


def test_unknown_config_name_lists_shipped(tmp_path):
    with pytest.raises(RenovoError, match="gaussian_losses"):
        load_config("no_such_config")
    path = tmp_path / "mine.yaml"
    path.write_text("loss:\n  spectrum:\n    typo: 1\n")
    with pytest.raises(RenovoError, match="loss.spectrum.typo"):
        load_config(path)
    path.write_text("optim:\n  lr: 0.002\n")
    assert load_config(path)["optim"]["lr"] == 0.002


def test_saved_config_round_trips(tmp_path):
    config = load_config("huber_l1", ["seed=7"])
    path = save_config(config, tmp_path / "config.yaml")
    assert yaml.safe_load(path.read_text()) == config
    assert load_config(path)["seed"] == 7


@pytest.mark.parametrize(("override", "key", "allowed"), [
    ("optim.lr=abc", "optim.lr", "a number > 0"),
    ("data.batch_size=-3", "data.batch_size", "an integer ≥ 1"),
    ("model.preset=huge", "model.preset", "tiny | small | base"),
    ("loss.spectrum.type=gauss", "loss.spectrum.type", "gaussian | gaussian_marginal | huber | none"),
    ("optim.betas=[0.9]", "optim.betas", "a list of 2 values"),
    ("trainer.max_steps=0", "trainer.max_steps", "an integer ≥ 1"),
    ("tokenizer.reverse=maybe", "tokenizer.reverse", "true or false"),
    ("data.num_workers=1.5", "data.num_workers", "an integer ≥ 0"),
])
def test_bad_values_are_one_line_naming_key_and_allowed(override, key, allowed):
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    message = str(info.value)
    assert key in message and allowed in message and "\n" not in message


def test_bad_value_stops_train_before_any_work(tmp_path, capsys):
    from renovo.cli import main

    assert main(["train", "--set", "optim.lr=abc", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "optim.lr" in err
    assert not (tmp_path / "run").exists()


def test_configure_writes_the_full_commented_default(tmp_path, capsys):
    from renovo.cli import main
    from renovo.train.config import default_config

    out = tmp_path / "mine.yaml"
    assert main(["configure", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.count("#") > 30 and "vocabulary:" in text and "fixed:" in text
    assert load_config(out) == {**load_config(None), "name": "mine"}
    assert set(load_config(out)) == set(default_config())
    assert main(["configure", "-o", str(out)]) == 2 and "--force" in capsys.readouterr().err
    assert main(["configure", "-o", str(out), "--force"]) == 0


def test_bad_vocabulary_entry_is_a_config_error():
    with pytest.raises(ConfigError, match="config key vocabulary: .*Nonsense"):
        load_config(None, ['vocabulary.variable=["S[Nonsense]"]'])
    with pytest.raises(ConfigError, match="sits on"):
        load_config(None, ['vocabulary.variable=["M[Phospho]"]'])
    assert load_config(None, ['vocabulary.variable=["S[UNIMOD:21]"]'])["vocabulary"]["variable"] == ["S[UNIMOD:21]"]
    with pytest.raises(ConfigError) as info:  # unquoted brackets: a one-line hint, not YAML's multi-line report
        load_config(None, ["vocabulary.variable=[S[Phospho]]"])
    assert "\n" not in str(info.value) and "quote" in str(info.value)


@pytest.mark.parametrize("overrides", [["model.d_model=100", "model.n_heads=3"], ["model.preset=tiny", "model.n_heads=3"],
                                       ["model.preset=small", "model.d_model=130"]])
def test_d_model_not_divisible_by_n_heads_is_one_config_error(overrides):
    """Before, the model's attention asserted it (a traceback) when training started; now the config says so."""
    with pytest.raises(ConfigError, match=r"model\.d_model .* model\.n_heads"):
        load_config(None, overrides)


def test_d_model_not_divisible_by_n_heads_stops_renovo_train(tmp_path, capsys):
    from renovo.cli import main

    assert main(["train", "--out", str(tmp_path / "run"), "--set", "model.preset=tiny", "--set", "model.n_heads=3"]) == 2
    err = capsys.readouterr().err
    assert "model.d_model" in err and "model.n_heads" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_broken_yaml_config_names_the_file_and_line(tmp_path):
    """The YAML error said '<unicode string>' instead of the file, and ran over several lines."""
    from renovo.train.config import ConfigError, load_config

    path = tmp_path / "mine.yaml"
    path.write_text("training:\n  lr: [1\n  steps: 3\n")
    with pytest.raises(ConfigError) as error:
        load_config(str(path))
    message = str(error.value)
    assert "unicode string" not in message and "\n" not in message
    assert message.startswith(f"{path}:") and "not valid YAML" in message

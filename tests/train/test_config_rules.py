"""Every config key has a type and a range, checked before any work; loaded values are read as typed."""
from __future__ import annotations

import pytest

from renovo.data import PreprocessConfig, SimulatorConfig
from renovo.train.config import ConfigError, default_config, load_config
from renovo.train.schema import RULES, SECTION_FIELDS


def _leaves(section: dict, where: str = ""):
    for key, value in section.items():
        path = f"{where}{key}"
        if isinstance(value, dict) and value and path not in RULES:
            yield from _leaves(value, f"{path}.")
        elif path not in SECTION_FIELDS:
            yield path


def test_every_key_of_the_default_config_has_a_rule():
    assert [key for key in _leaves(default_config()) if key not in RULES] == []


def test_every_field_of_the_dataclass_sections_has_a_rule():
    for section, cls in (("data.preprocess", PreprocessConfig), ("data.simulator", SimulatorConfig)):
        assert all(f"{section}.{name}" in RULES for name in cls.__dataclass_fields__)


@pytest.mark.parametrize("override, message", [
    ("trainer.val_decode_beam=0", "trainer.val_decode_beam = 0: must be an integer ≥ 1"),
    ("trainer.val_decode_tolerance_ppm=abc", "trainer.val_decode_tolerance_ppm = 'abc': must be a number > 0"),
    ("trainer.val_decode_batches=-3", "trainer.val_decode_batches = -3: must be an integer ≥ 0 or null"),
    ("trainer.max_time=[1,2]", "trainer.max_time = [1, 2]: must be seconds > 0"),
    ("trainer.max_time=soon", "trainer.max_time = 'soon'"),
    ("data.preprocess.min_mz=abc", "data.preprocess.min_mz = 'abc': must be a number"),
    ("data.preprocess.peaks=3", "unknown config key data.preprocess.peaks"),
    ("data.simulator.charge_probabilities=[1,2]", "data.simulator.charge_probabilities = [1, 2]: must be a list of 3"),
    ("data.simulator.noise_peaks=5", "unknown config key data.simulator.noise_peaks"),
])
def test_bad_values_the_rules_once_missed_are_one_line_errors(override, message):
    with pytest.raises(ConfigError) as error:
        load_config(None, [override])
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("value", ["90", "90s", "60m", "1h30m", "2h", 45, 1.5])
def test_durations_the_trainer_reads_are_accepted(value):
    from renovo.train.trainer import parse_duration_s

    assert parse_duration_s(load_config(None, [f"trainer.max_time={value}"])["trainer"]["max_time"]) > 0


def test_loaded_values_have_their_rules_type():
    """A number written as an integer is read as a float, so no code casts a config value where it uses it."""
    config = load_config(None, ["optim.lr=1", "optim.betas=[0, 1e-3]", "data.preprocess.min_mz=100",
                                "loss.spectrum.sigma=[1, 0.5]", "trainer.val_real_tolerance_ppm=20"])
    assert type(config["optim"]["lr"]) is float
    assert [type(b) for b in config["optim"]["betas"]] == [float, float]
    assert type(config["data"]["preprocess"]["min_mz"]) is float
    assert config["loss"]["spectrum"]["sigma"] == [1.0, 0.5] and type(config["loss"]["spectrum"]["sigma"][0]) is float
    assert type(config["trainer"]["val_real_tolerance_ppm"]) is float
    assert type(config["trainer"]["max_steps"]) is int


def test_the_default_max_peaks_is_written_once_in_a_run_config():
    """data.max_peaks (the run config's) and PreprocessConfig.max_peaks (a model without a run config) agree."""
    assert default_config()["data"]["max_peaks"] == PreprocessConfig().max_peaks
    assert PreprocessConfig.from_config(load_config(None, ["data.max_peaks=70"])).max_peaks == 70


def test_configure_keys_lists_every_key_with_its_default_and_rule(capsys):
    from renovo.cli import main

    assert main(["configure", "--keys"]) == 0
    lines = capsys.readouterr().out.splitlines()
    keys = [line.split()[0] for line in lines]
    assert set(keys) == {*_leaves(default_config()), *(k for k in RULES if k.split(".")[0] == "data"
                                                         and ".".join(k.split(".")[:2]) in SECTION_FIELDS)}
    assert any(line.startswith("optim.lr ") and "0.0005" in line and "a number > 0" in line for line in lines)
    assert any(line.startswith("data.preprocess.scaling ") and "'sqrt'" in line for line in lines)

"""The run configuration's schema: one declaration per key (default, rule, doc), and everything derived from it."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from renovo.train.config import CONFIG_DIR, default_config, load_config, merge_config, validate_config, yaml_load
from renovo.train.schema import RULES, SECTION_FIELDS, RunConfig, Section, key_table, render_yaml


def _declared(cls, where=""):
    for f in dataclasses.fields(cls):
        if "section" in f.metadata:
            yield from _declared(f.metadata["section"], f"{where}{f.name}.")
        yield f"{where}{f.name}", f


def test_the_shipped_default_yaml_is_the_schemas_rendering():
    """Regenerate with `renovo configure -o renovo/configs/default.yaml -f` after editing the schema."""
    assert (CONFIG_DIR / "default.yaml").read_text() == render_yaml(), \
        "the schema changed: run `renovo configure -o renovo/configs/default.yaml -f`"


def test_the_rendering_reads_back_as_the_schemas_defaults():
    assert yaml_load(render_yaml()) == RunConfig().to_dict() == default_config()


def test_every_key_declares_a_rule_and_a_one_line_doc():
    for path, f in _declared(RunConfig):
        assert f.metadata["doc"].strip(), path
        assert "\n" not in f.metadata["doc"], path
        if "section" not in f.metadata and "fields_of" not in f.metadata:
            assert RULES[path] is f.metadata["rule"], path
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default
            assert RULES[path].accepts(default), f"{path}: its default {default!r} breaks its own rule"


def test_key_table_covers_every_rule_once():
    keys = [row[0] for row in key_table()]
    assert len(keys) == len(set(keys)) and set(keys) == set(RULES)
    assert set(SECTION_FIELDS) == {"data.preprocess", "data.simulator"}


def test_a_loaded_config_is_typed_frozen_and_reads_as_a_mapping():
    config = load_config("gaussian_losses", ["optim.lr=0.001"])
    assert isinstance(config, RunConfig) and isinstance(config.loss, Section)
    assert config.optim.lr == config["optim"]["lr"] == 0.001
    assert config.loss.spectrum.type == "gaussian" and config["loss"]["spectrum"]["type"] == "gaussian"
    assert list(config) == list(default_config()) and set(config.trainer) == set(default_config()["trainer"])
    assert config.trainer.get("no_such_key") is None and "max_steps" in config.trainer
    with pytest.raises(KeyError):
        config["optim"]["no_such_key"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.optim.lr = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        config["optim"]["lr"] = 1.0  # type: ignore[index]


def test_to_dict_is_plain_and_round_trips():
    config = load_config("gaussian_multiscale", ["data.preprocess.min_mz=100"])
    plain = config.to_dict()

    def only_plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and only_plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(only_plain(v) for v in value)
        return value is None or isinstance(value, (str, int, float, bool))

    assert type(plain) is dict and only_plain(plain)
    assert plain == config and validate_config(plain) == config
    plain["optim"]["lr"] = 9.0  # a copy: the config is unchanged
    assert config.optim.lr != 9.0


def test_merge_returns_a_new_config_and_keeps_the_old():
    config = load_config(None)
    longer = merge_config(config, {"trainer": {"max_steps": 99}})
    assert longer.trainer.max_steps == 99 and config.trainer.max_steps == 12000
    assert longer.optim == config.optim


def test_a_checkpoint_stores_the_config_as_plain_dicts(checkpoint):
    stored = torch.load(checkpoint, map_location="cpu", weights_only=True)["renovo"]["config"]
    assert type(stored) is dict and type(stored["optim"]) is dict
    assert validate_config(stored) == stored

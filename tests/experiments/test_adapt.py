"""Label-free adaptation: which decoded predictions are accepted, the training records made from them."""
from __future__ import annotations

import pytest

from renovo.data.simulate import simulate_records
from renovo.decode import DecodeConfig
from renovo.errors import RenovoError
from renovo.experiments.adapt import AcceptanceRule, accepted_predictions, count_right, training_records
from renovo.model.checkpoint import load_model


def test_accepted_predictions_never_read_labels_and_follow_the_rule(checkpoint):
    model = load_model(checkpoint)
    records = list(simulate_records(6, seed=4))
    settings = DecodeConfig(beam=2, max_length=8, batch_size=4, precursor_tolerance_ppm=None)
    everything = AcceptanceRule(min_gaussian_cosine=0.0, min_ion_fraction=0.0, require_in_tolerance=False)
    accepted = accepted_predictions(model, records, settings, everything)
    assert len(accepted) == 6 and [a[0] for a in accepted] == records  # the original records, labels kept aside
    assert all(set(a[2]) >= {"gaussian_cosine_10mda", "ion_fraction", "in_tolerance"} for a in accepted)
    strict = AcceptanceRule(min_gaussian_cosine=1.01)
    assert accepted_predictions(model, records, settings, strict) == []
    pseudo = training_records(accepted, "pseudo")
    physics = training_records(accepted, "physics")
    assert [r.peptide for r in pseudo] == [a[1] for a in accepted] and {r.label_weight for r in pseudo} == {1.0}
    assert {r.label_weight for r in physics} == {0.0}
    assert all(r.peptide is not None for r in records)  # the inputs are untouched
    labelled, right = count_right(accepted, model.tokenizer.vocabulary)
    assert labelled == 6 and 0 <= right <= 6
    with pytest.raises(RenovoError, match="signal"):
        training_records(accepted, "other")


def test_rule_thresholds():
    rule = AcceptanceRule()
    good = {"in_tolerance": 1.0, "gaussian_cosine_10mda": 0.5, "ion_fraction": 0.5}
    assert rule.accepts(good, None) and rule.accepts(good, 0.9) and not rule.accepts(good, 0.1)
    assert not rule.accepts({**good, "in_tolerance": 0.0}, None)
    assert not rule.accepts({**good, "ion_fraction": 0.1}, None)


@pytest.mark.parametrize("signal", ["pseudo", "physics"])
def test_a_round_of_adaptation_from_the_command_line(tmp_path, checkpoint, signal, capsys):
    import json

    from renovo.cli import main
    from renovo.data import write_mgf

    spectra = tmp_path / "lab.mgf"
    write_mgf(simulate_records(12, seed=5), spectra)  # labelled: the labels are only counted
    out = tmp_path / "adapted"
    args = ["adapt", str(spectra), "--model", str(checkpoint), "--out", str(out), "--rounds", "1", "--epochs", "1",
            "--beam", "2", "--min-cosine", "0", "--min-ion-fraction", "0", "--signal", signal]
    assert main(args) == 0
    printed = capsys.readouterr().out
    record = json.loads((out / "adapt.json").read_text())
    (first,) = record["rounds"]
    assert first["decoded"] == 12 and first["accepted"] >= 2 and first["labelled"] == first["accepted"]
    assert f"round 1: {first['accepted']} of 12 predictions accepted" in printed
    assert (out / "round-1" / "config.yaml").is_file() and first["checkpoint"].endswith(".ckpt")
    config = (out / "round-1" / "config.yaml").read_text()
    assert ("gaussian_marginal" in config) == (signal == "physics")
    assert main(args) == 2 and "already exists" in capsys.readouterr().err  # nothing overwritten
    assert main(args + ["--force"]) == 0

"""Fine-tuning a checkpoint on labelled files: from the command line with one added modification, from
Python on records; the checkpoint's tokens keep their weights bit for bit and the new one is predicted; a
vocabulary that drops a token or another architecture is refused in one line; the schedule is sized to the
data; early stopping stops."""
from __future__ import annotations

import re

import lightning as L
import numpy as np
import pytest
import torch
import yaml

from renovo.chem import Tokenizer, fragment_ladder, parse_peptide, precursor_mz
from renovo.chem.vocabulary import DEFAULT_VARIABLE_MODS, vocabulary_from_config
from renovo.cli import main
from renovo.data import SpectrumCollator, SpectrumRecord, write_mgf
from renovo.decode import greedy_decode
from renovo.model import load_model, read_checkpoint
from renovo.model.checkpoint import tokenizer_from_state
from renovo.train import read_metrics
from renovo.train.finetune import finetune, finetune_config

PHOSPHO = {"fixed": ["C[Carbamidomethyl]"], "variable": [*DEFAULT_VARIABLE_MODS, "S[Phospho]"]}
PEPTIDES = ["PEPS[Phospho]IDEK", "GAS[Phospho]LLR", "AMS[Phospho]PEK", "TLS[Phospho]GGR", "SAMPLER", "VVS[Phospho]K",
            "NNS[Phospho]AAK", "QES[Phospho]TR"]


def phospho_records(seed=0, copies=2):
    vocabulary = vocabulary_from_config(PHOSPHO)
    rng = np.random.default_rng(seed)
    records = []
    for i, text in enumerate(PEPTIDES * copies):
        peptide = parse_peptide(text, vocabulary)
        ladder = fragment_ladder(peptide, vocabulary=vocabulary)
        mz = np.sort(np.concatenate(list(ladder.values()) + [rng.uniform(100, 1200, 5)]))
        records.append(SpectrumRecord(mz, rng.uniform(0.1, 1.0, mz.shape[0]).astype(np.float32),
                                      precursor_mz(peptide, 2, vocabulary), 2, peptide.proforma, "phospho.mgf", i,
                                      title=f"s{i}", scan=str(i + 1)))
    return records


@pytest.fixture(scope="module")
def base_checkpoint(tmp_path_factory):
    """A tiny ion-evidence model trained 4 steps on simulated spectra, in the default vocabulary."""
    out = tmp_path_factory.mktemp("base") / "run"
    assert main(["train", "--config", "ce_only", "--preset", "tiny", "--max-steps", "4", "--batch-size", "4",
                 "--out", str(out), "--no-progress", "--set", "model.ion_evidence=true", "--set", "data.val_size=4",
                 "--set", "trainer.val_every_n_steps=4", "--set", "monitors.gradient_flow_every_n_steps=0"]) == 0
    return out / "checkpoints" / "last.ckpt"


def _vocabulary_file(tmp_path, section):
    path = tmp_path / "vocabulary.yaml"
    path.write_text(yaml.safe_dump({"vocabulary": section}))
    return path


def test_cli_finetune_with_an_added_modification(tmp_path, base_checkpoint, capsys):
    spectra = tmp_path / "phospho.mgf"
    write_mgf(phospho_records(), spectra)
    out = tmp_path / "ft"
    code = main(["train", "--finetune", str(base_checkpoint), "--config", str(_vocabulary_file(tmp_path, PHOSPHO)),
                 "--train", str(spectra), "--max-epochs", "2", "--batch-size", "4", "--mix-simulated", "0.25",
                 "--out", str(out), "--no-progress", "--set", "data.val_fraction=0.25"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "new tokens S[Phospho] start from their base residue's" in printed
    assert "(batches of 3 + 1 simulated)" in printed
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["name"] == "vocabulary-finetune" and config["optim"]["lr"] == 1e-4
    train_spectra = int(re.search(r"schedule: 2 passes over (\d+) training spectra", printed).group(1))
    assert 0 < train_spectra < len(PEPTIDES) * 2  # some peptides held out for validation
    assert config["trainer"]["max_steps"] == 2 * -(-train_spectra // 3)
    assert "added tokens: S[Phospho]" in (out / "finetune_from.txt").read_text()
    best = next((out / "checkpoints").glob("best-*.ckpt"))
    tokenizer = tokenizer_from_state(read_checkpoint(best)["renovo"]["tokenizer"])
    assert "S[Phospho]" in tokenizer.tokens
    assert main(["sequence", str(spectra), "--model", str(best), "-o", str(tmp_path / "p.mztab"), "--beam", "2",
                 "--max-length", "12", "--no-progress"]) == 0


class StartWeights(L.Callback):
    """The model's weights when training starts (after the fine-tune loaded them)."""

    def on_train_start(self, trainer, pl_module) -> None:
        self.state = {k: v.detach().clone() for k, v in pl_module.model.state_dict().items()}


def _new_token_probability(model, records, token):
    """Mean teacher-forced probability of ``token`` at the positions whose label is ``token``."""
    batch = SpectrumCollator(model.tokenizer)(records)
    with torch.no_grad():
        probabilities = model.eval()(batch).softmax(-1)
    token_id = model.tokenizer.token_to_id[token]
    where = batch["tokens"] == token_id
    assert where.any()
    return float(probabilities[..., token_id][where].mean())


def test_finetune_keeps_old_weights_bit_for_bit_and_the_new_token_learns(tmp_path, base_checkpoint):
    start = StartWeights()
    records = phospho_records()
    run = finetune(base_checkpoint, records, records, run_dir=tmp_path / "ft",
                   overrides=[{"vocabulary": PHOSPHO}, "trainer.max_epochs=4", "data.batch_size=4",
                              "optim.lr=0.005", "trainer.progress_bar=false", "trainer.early_stopping_patience=null"],
                   extra_callbacks=[start])
    old_checkpoint = read_checkpoint(base_checkpoint)
    old = tokenizer_from_state(old_checkpoint["renovo"]["tokenizer"])
    old_state = {k[len("model."):]: v for k, v in old_checkpoint["state_dict"].items() if k.startswith("model.")}
    tuned = load_model(run / "checkpoints" / "last.ckpt")
    new = tuned.tokenizer
    axes = tuned.vocabulary_axes()
    assert set(axes) >= {"token_embedding.weight", "head.weight", "head.bias", "evidence_to_input.weight"}
    for name, tensor in old_state.items():
        if name not in axes:
            assert torch.equal(start.state[name], tensor), name
            continue
        axis, group = axes[name]
        for token in old.tokens:
            begin_old, begin_new = old.token_to_id[token] * group, new.token_to_id[token] * group
            assert torch.equal(start.state[name].narrow(axis, begin_new, group),
                               tensor.narrow(axis, begin_old, group)), (name, token)
        phospho, serine = new.token_to_id["S[Phospho]"] * group, old.token_to_id["S"] * group
        assert torch.equal(start.state[name].narrow(axis, phospho, group), tensor.narrow(axis, serine, group))
    # The new output row got a gradient: it moved away from its copy of S.
    row = new.token_to_id["S[Phospho]"]
    assert not torch.equal(tuned.state_dict()["head.weight"][row], start.state["head.weight"][row])
    assert new.vocab_size == old.vocab_size + 1
    # ... and the model puts more probability on it where the labels have it.
    initial = type(tuned)(tuned.config, new)
    initial.load_state_dict(start.state)
    before = _new_token_probability(initial, records, "S[Phospho]")
    after = _new_token_probability(tuned, records, "S[Phospho]")
    assert 0.0 < before < after
    # It is predicted: the most likely token where the labels have it, and written by the decoder.
    batch = SpectrumCollator(new)(records)
    with torch.no_grad():
        best = tuned(batch).argmax(-1)
    labelled = batch["tokens"] == row
    assert (best[labelled] == row).float().mean() > 0.5
    assert not (best[batch["tokens"] == new.token_to_id["S"]] == row).any()  # not in place of a plain S
    decoded = [p[0].peptide for p in greedy_decode(tuned, batch, max_length=12) if p]
    assert any("S[Phospho]" in peptide for peptide in decoded)


def test_a_vocabulary_that_drops_a_token_is_refused_before_any_work(tmp_path, base_checkpoint, capsys):
    spectra = tmp_path / "phospho.mgf"
    write_mgf(phospho_records(copies=1), spectra)
    fewer = {"fixed": ["C[Carbamidomethyl]"], "variable": [m for m in PHOSPHO["variable"] if m != "M[Oxidation]"]}
    out = tmp_path / "ft"
    code = main(["train", "--finetune", str(base_checkpoint), "--config", str(_vocabulary_file(tmp_path, fewer)),
                 "--train", str(spectra), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "drops M[Oxidation] of the checkpoint" in err
    assert not out.exists()
    with pytest.raises(Exception, match="model.d_model: 64 here, 32 in"):
        finetune_config(base_checkpoint, ["model.d_model=64"])
    code = main(["train", "--finetune", str(base_checkpoint), "--preset", "small", "--train", str(spectra),
                 "--out", str(out)])
    assert code == 2 and "--preset" in capsys.readouterr().err and not out.exists()


def test_early_stopping_stops_when_the_monitor_stops_improving(tmp_path, base_checkpoint, capsys):
    records = phospho_records(copies=1)
    # A tiny model's decoded peptide accuracy stays 0: no improvement after the first validation.
    run = finetune(base_checkpoint, records, records, run_dir=tmp_path / "ft",
                   overrides=[{"vocabulary": PHOSPHO}, "trainer.max_epochs=20", "data.batch_size=4",
                              "trainer.checkpoint_monitor=val/peptide_acc", "trainer.early_stopping_patience=2",
                              "trainer.progress_bar=false"])
    printed = capsys.readouterr().out
    assert "val/peptide_acc did not improve for 2 validations" in printed
    validations = [s for s, m in read_metrics(run / "metrics.csv").items() if "val/peptide_acc" in m]
    assert len(validations) == 3
    assert yaml.safe_load((run / "config.yaml").read_text())["trainer"]["max_steps"] == 20 * 2  # 8 spectra, 4 a batch
    assert next((run / "checkpoints").glob("best-*.ckpt")).name == "best-2.ckpt"  # the first validation's

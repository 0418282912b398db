"""Validation on labelled real files beside the simulated set: the val_real/ metrics of beam search with the
precursor-mass constraint, per file too; the best checkpoint is the one the real figure chose, holding the
weights that scored it; a monitor on real figures without real files is refused in one line."""
from __future__ import annotations

import pytest
import torch

from renovo.chem import Tokenizer
from renovo.cli import main
from renovo.data import SpectrumRecord, simulate_records, write_mgf
from renovo.decode import DecodeConfig
from renovo.evaluate import evaluate_peptides
from renovo.evaluate.callback import RealSpectraValidation, build_callbacks, real_validation
from renovo.model import load_model
from renovo.train import load_config, read_metrics
from tests.decode.standins import TableModel, make_batch, script_tables

PEK = [{"K": 0.9}, {"E": 0.9}, {"P": 0.9}, {"<eos>": 0.9}]
GGR = [{"R": 0.9}, {"G": 0.9}, {"G": 0.9}, {"<eos>": 0.9}]


def _records(peptides_and_files):
    import numpy as np

    return [SpectrumRecord(np.array([100.0]), np.array([1.0], dtype=np.float32), 500.0, 2, peptide, source, i)
            for i, (peptide, source) in enumerate(peptides_and_files)]


def test_metrics_pooled_and_per_file():
    records = _records([("PEK", "a/one.mgf"), ("GGR", "a/one.mgf"), ("GGR", "b/two.mgf")])
    model = TableModel(script_tables(Tokenizer(), [PEK, PEK, GGR]))

    def collate(batch):  # the stand-in names a spectrum by its first m/z: the record's index
        out = make_batch(len(batch))
        out["mz"][:, 0] = torch.tensor([float(r.index) for r in batch])
        return out

    callback = RealSpectraValidation(records, collate, DecodeConfig(beam=2, precursor_tolerance_ppm=None))
    predictions = callback.predictions(model)
    assert predictions == ["PEK", "PEK", "GGR"]
    logged = callback.metrics(predictions)
    expected = evaluate_peptides(predictions, [r.peptide for r in records])
    for name in ("aa_precision", "aa_recall", "peptide_recall", "peptide_precision"):
        assert logged[f"val_real/{name}"] == pytest.approx(expected[name])
    assert logged["val_real/peptide_recall"] == pytest.approx(2 / 3)
    assert logged["val_real/one/peptide_recall"] == pytest.approx(0.5)
    assert logged["val_real/two/peptide_recall"] == pytest.approx(1.0)


def test_callbacks_from_the_config(tmp_path):
    spectra = tmp_path / "real.mgf"
    write_mgf(simulate_records(6, seed=1), spectra)
    config = load_config(None, [f"data.val_real=[{spectra}]", "trainer.val_real_max_spectra=4",
                                "trainer.val_real_tolerance_ppm=20"])
    real = real_validation(config)
    assert len(real.records) == 4 and real.settings.beam == 5 and real.settings.precursor_tolerance_ppm == 20.0
    assert real.settings.isotope_offsets == (0, 1)
    assert len(build_callbacks(config)) == 2 and len(build_callbacks(load_config(None))) == 1


def test_best_checkpoint_is_chosen_by_the_real_figure(tmp_path, capsys):
    spectra = tmp_path / "real.mgf"
    write_mgf(simulate_records(24, seed=5), spectra)
    out = tmp_path / "run"
    code = main(["train", "--config", "ce_only", "--preset", "tiny", "--max-steps", "16", "--batch-size", "8",
                 "--out", str(out), "--no-progress", "--val-real", str(spectra),
                 "--set", "trainer.checkpoint_monitor=val_real/aa_precision", "--set", "trainer.val_every_n_steps=2",
                 "--set", "optim.lr=0.003", "--set", "data.val_size=8", "--set", "trainer.val_real_beam=2",
                 "--set", "trainer.val_real_tolerance_ppm=null", "--set", "monitors.gradient_flow_every_n_steps=0"])
    printed = capsys.readouterr().out
    assert code == 0 and "real spectra of 1 file(s) decoded at every validation" in printed
    rows = read_metrics(out / "metrics.csv")
    # A validation after step k is logged in row k - 1.
    real = {step + 1: row["val_real/aa_precision"] for step, row in rows.items() if "val_real/aa_precision" in row}
    assert sorted(real) == list(range(2, 17, 2)) and "val_real/peptide_recall" in rows[1]
    assert len(set(real.values())) > 1  # the figure moved, so the choice means something
    best_step = max(real, key=lambda s: (real[s], -s))  # the first of the best (a tie does not replace it)
    best = list((out / "checkpoints").glob("best-*.ckpt"))
    assert [p.name for p in best] == [f"best-{best_step}.ckpt"]
    assert f"best val_real/aa_precision {real[best_step]:.4f} at step {best_step}" in printed
    # The checkpoint holds the weights that scored the figure (not those of a later step).
    model = load_model(best[0])
    callback = real_validation(load_config(None, [f"data.val_real=[{spectra}]", "trainer.val_real_beam=2",
                                                  "trainer.val_real_tolerance_ppm=null", "model.preset=tiny"]))
    again = callback.metrics(callback.predictions(model), model.tokenizer.vocabulary)["val_real/aa_precision"]
    assert again == pytest.approx(real[best_step], abs=1e-6)


def test_real_monitor_without_real_files_is_one_line(tmp_path, capsys):
    code = main(["train", "--preset", "tiny", "--max-steps", "2", "--out", str(tmp_path / "run"),
                 "--set", "trainer.checkpoint_monitor=val_real/peptide_recall"])
    err = capsys.readouterr().err
    assert code == 2 and "data.val_real" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_real_validation_decodes_as_renovo_sequence_by_default():
    """trainer.val_real_* default to `renovo sequence`'s settings (the run config is upstream of decoding, so
    its defaults are written there; this keeps the two equal)."""
    from renovo.evaluate.callback import real_decode_config
    from renovo.train.schema import RunConfig

    assert real_decode_config(RunConfig()) == DecodeConfig()

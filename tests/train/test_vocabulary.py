"""A configurable vocabulary: phospho and plain-cysteine models trained a few steps, stored in the
checkpoint, sequenced; a vocabulary mismatch at sequencing time is one line."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from renovo.chem import fragment_ladder, parse_peptide, precursor_mz
from renovo.chem.vocabulary import vocabulary_from_config
from renovo.cli import main
from renovo.data import SpectrumRecord, read_spectra, write_mgf
from renovo.evaluate import read_mztab
from renovo.model.checkpoint import read_checkpoint, tokenizer_from_state

PHOSPHO = {"fixed": ["C[Carbamidomethyl]"], "variable": ["M[Oxidation]", "S[Phospho]", "T[UNIMOD:21]", "Y[+79.966]"]}
PLAIN_C = {"fixed": [], "variable": ["M[Oxidation]"]}


def _records(peptides, vocabulary, seed=0):
    rng = np.random.default_rng(seed)
    records = []
    for i, text in enumerate(peptides):
        peptide = parse_peptide(text, vocabulary)
        ladder = fragment_ladder(peptide, vocabulary=vocabulary)
        mz = np.sort(np.concatenate(list(ladder.values()) + [rng.uniform(100, 1200, 5)]))
        records.append(SpectrumRecord(mz, rng.uniform(0.1, 1.0, mz.shape[0]), precursor_mz(peptide, 2, vocabulary), 2,
                                      peptide.proforma, "hand", i, title=f"s{i}", scan=str(i + 1)))
    return records


def _train(tmp_path, name, vocabulary_section, peptides):
    vocabulary = vocabulary_from_config(vocabulary_section)
    spectra = tmp_path / f"{name}.mgf"
    write_mgf(_records(peptides, vocabulary), spectra)
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump({"vocabulary": vocabulary_section}))
    out = tmp_path / f"run_{name}"
    code = main(["train", "--config", str(config), "--preset", "tiny", "--max-steps", "3", "--batch-size", "4",
                 "--train", str(spectra), "--val", str(spectra), "--out", str(out), "--no-progress",
                 "--set", "trainer.val_every_n_steps=3", "--set", "trainer.log_every_n_steps=1"])
    assert code == 0
    return spectra, config, out / "checkpoints" / "last.ckpt"


@pytest.mark.parametrize(("name", "section", "peptides", "expected_tokens", "absent"), [
    ("phospho", PHOSPHO, ["PEPS[Phospho]IDEK", "AT[Phospho]LLYR", "GGY[Phospho]CK", "SAMPLER"],
     ["S[Phospho]", "T[Phospho]", "Y[Phospho]", "C[Carbamidomethyl]"], ["C"]),
    ("plain_c", PLAIN_C, ["PEPCIDEK", "ACDLLK", "CCGGR", "SAMPLER"], ["C"], ["C[Carbamidomethyl]"]),
])
def test_vocabulary_trained_stored_and_sequenced(tmp_path, capsys, name, section, peptides, expected_tokens, absent):
    spectra, config, checkpoint = _train(tmp_path, name, section, peptides)
    # Labels were read with the run's vocabulary: nothing skipped as an unknown modification.
    assert [r.peptide for r in read_spectra(spectra, vocabulary=vocabulary_from_config(section))] == [
        parse_peptide(p, vocabulary_from_config(section)).proforma for p in peptides]
    tokenizer = tokenizer_from_state(read_checkpoint(checkpoint)["renovo"]["tokenizer"])
    assert all(t in tokenizer.tokens for t in expected_tokens)
    assert not any(t in tokenizer.tokens for t in absent)
    out = tmp_path / f"{name}.mztab"
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--beam", "2",
                 "--max-length", "8", "--no-mass-constraint", "--vocabulary", str(config), "--no-progress",
                 "--min-peaks", "1"]) == 0  # the test spectra have a handful of peaks
    psms = read_mztab(out)
    assert len(psms) == len(peptides)
    for psm in psms:  # every prediction is written in the model's own vocabulary
        if psm.peptide:
            assert all(t in tokenizer.tokens for t in parse_peptide(psm.peptide, tokenizer.vocabulary).tokens)
    capsys.readouterr()
    # The default vocabulary is not the one this model was trained with: one line, before decoding.
    code = main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(tmp_path / "x.mztab"),
                 "--vocabulary", "default", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "another vocabulary" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.mztab").exists()


def test_vocabulary_entries_by_name_accession_and_mass():
    vocabulary = vocabulary_from_config({"fixed": [], "variable": ["S[UNIMOD:21]", "T[+79.966]", "Y[Phospho]",
                                                                   "K[+12.5]", "[UNIMOD:1]-"]})
    assert {"S[Phospho]", "T[Phospho]", "Y[Phospho]", "K[+12.5000]", "[Acetyl]-", "C"} <= set(vocabulary.tokens)
    assert vocabulary.mass_da("K[+12.5000]") == pytest.approx(vocabulary.mass_da("K") + 12.5)
    for bad, message in (("S[Nonsense]", "unknown modification"), ("X[Phospho]", "unknown residue"),
                         ("M[Phospho]", "sits on"), ("C", "plain residue")):
        section = {"fixed": [bad]} if bad == "C" else {"variable": [bad]}
        with pytest.raises(Exception, match=message):
            vocabulary_from_config(section)

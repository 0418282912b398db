"""Collator: batch keys, shapes, dtypes, padding and labels."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from renovo.chem import PROTON_MASS_DA, Tokenizer, peptide_mass_da
from renovo.data import PreprocessConfig, SpectrumCollator, SpectrumRecord, collate_spectra, simulate_records

KEYS = {
    "mz": torch.float64, "intensity": torch.float32, "peak_mask": torch.bool, "precursor_mz": torch.float64,
    "precursor_charge": torch.int64, "precursor_mass_da": torch.float64, "tokens": torch.int64,
    "peptide_mass_da": torch.float64, "label_weight": torch.float32,
}


def test_batch_shapes_dtypes_and_values():
    tokenizer = Tokenizer()
    records = list(simulate_records(6, seed=0))
    records[2].peptide = None
    batch = SpectrumCollator(tokenizer)(records)
    assert set(batch) == set(KEYS) | {"peptides"}
    for key, dtype in KEYS.items():
        assert batch[key].dtype == dtype, key
    b, p = batch["mz"].shape
    assert b == 6 and p <= 150 and batch["intensity"].shape == batch["peak_mask"].shape == (b, p)
    assert torch.all(batch["mz"][~batch["peak_mask"]] == 0) and torch.all(batch["intensity"][~batch["peak_mask"]] == 0)
    norms = torch.linalg.vector_norm(batch["intensity"].double(), dim=1)
    assert torch.allclose(norms, torch.ones(6, dtype=torch.float64), atol=1e-5)
    expected_mass = (batch["precursor_mz"] - PROTON_MASS_DA) * batch["precursor_charge"]
    assert torch.equal(batch["precursor_mass_da"], expected_mass)
    assert batch["peptides"] == [r.peptide for r in records]
    # tokens: decoding order ending with EOS, PAD-padded; the unlabeled row is all PAD with NaN mass
    for row, record in enumerate(records):
        ids = batch["tokens"][row].tolist()
        if record.peptide is None:
            assert set(ids) == {tokenizer.PAD} and torch.isnan(batch["peptide_mass_da"][row])
            continue
        assert tokenizer.decode(ids).proforma == record.peptide
        n = ids.index(tokenizer.EOS)
        assert set(ids[n + 1:]) <= {tokenizer.PAD}
        assert batch["peptide_mass_da"][row].item() == pytest.approx(peptide_mass_da(record.peptide), abs=1e-9)
    assert batch["tokens"].shape[1] == max(len(tokenizer.encode(r.peptide)) for r in records if r.peptide)


def test_max_peaks_and_empty_rows():
    mz = np.linspace(100, 1000, 400)
    busy = SpectrumRecord(mz, np.arange(1, 401, dtype=np.float32), 1500.0, 2, "PEPTIDEK")
    empty = SpectrumRecord(np.array([500.0]), np.array([1.0]), 500.5, 2, None)  # its one peak is the precursor
    batch = collate_spectra([busy, empty], Tokenizer(), max_peaks=32)
    assert batch["mz"].shape == (2, 32)
    assert batch["peak_mask"][0].all() and not batch["peak_mask"][1].any()
    # the 32 most intense peaks are kept, in m/z order
    assert torch.equal(batch["mz"][0], torch.from_numpy(mz[-32:]))
    raw = collate_spectra([busy], Tokenizer(), max_peaks=500, preprocess_config=None)
    assert raw["mz"].shape == (1, 400) and raw["intensity"][0, -1].item() == 400.0
    none = collate_spectra([empty], Tokenizer(), preprocess_config=PreprocessConfig())
    assert none["mz"].shape == (1, 1) and none["tokens"].shape == (1, 1)


def test_unencodable_label_does_not_crash():
    record = next(iter(simulate_records(1, seed=0)))
    record.peptide = "PEPS[Phospho]K"
    with pytest.warns(UserWarning, match="not encodable"):
        batch = collate_spectra([record], Tokenizer())
    assert batch["peptides"] == [None] and torch.isnan(batch["peptide_mass_da"][0])


def test_collator_pickles():
    collator = pickle.loads(pickle.dumps(SpectrumCollator(Tokenizer(merge_il=True), PreprocessConfig(max_peaks=50), 50)))
    batch = collator(list(simulate_records(3, seed=1)))
    assert batch["mz"].shape[1] <= 50

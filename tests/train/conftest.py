"""Batches for the training tests, built from renovo.chem + renovo.data's collator."""
from __future__ import annotations

import lightning as L
import numpy as np
import pytest

from renovo.chem import Tokenizer, fragment_ladder, parse_peptide, precursor_mz
from renovo.data import PreprocessConfig, SpectrumRecord, collate_spectra

PEPTIDES = ("PEPTIDEK", "ACDEFGHIKR", "LLGKM[Oxidation]R", "SAMPLER")


def make_records(peptides=PEPTIDES, charge=2, seed=0):
    rng = np.random.default_rng(seed)
    records = []
    for i, text in enumerate(peptides):
        ladder = fragment_ladder(parse_peptide(text))
        mz = np.concatenate(list(ladder.values()) + [rng.uniform(100, 1200, 5)])
        order = np.argsort(mz)
        intensity = rng.uniform(0.1, 1.0, mz.shape[0]).astype(np.float32)
        records.append(
            SpectrumRecord(mz[order], intensity[order], precursor_mz(parse_peptide(text), charge), charge, text,
                           "hand", i)
        )
    return records


@pytest.fixture
def tokenizer():
    return Tokenizer()


@pytest.fixture
def batch(tokenizer):
    return collate_spectra(make_records(), tokenizer, 150, PreprocessConfig())


class StopAt(L.Callback):
    """Stops training at ``step`` as if interrupted (the resume tests' first half)."""

    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step >= self.step:
            trainer.should_stop = True

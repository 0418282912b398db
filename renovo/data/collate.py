"""Batches: a list of SpectrumRecord → the dict of tensors in ARCHITECTURE.md.

Unlabeled spectra get an all-PAD token row (so a PAD-ignoring cross-entropy
skips them) and ``peptide_mass_da = NaN``. A label the tokenizer cannot encode
should have been skipped by the reader (readers parse labels against the
vocabulary); if one arrives anyway it is treated as unlabeled with a warning,
never an exception inside a DataLoader worker.
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from renovo.chem import PeptideParseError, Tokenizer, mass_from_mz, peptide_mass_da
from renovo.data.preprocess import PreprocessConfig, preprocess
from renovo.data.records import SpectrumRecord

_DEFAULT = PreprocessConfig()


def collate_spectra(
    records: Sequence[SpectrumRecord],
    tokenizer: Tokenizer,
    max_peaks: int | None = None,
    preprocess_config: PreprocessConfig | None = _DEFAULT,
) -> dict:
    """The batch dict. Peaks are cut once, to the ``max_peaks`` most intense: by preprocessing
    (``preprocess_config.max_peaks``, or ``max_peaks`` when given, which replaces it), or — with
    ``preprocess_config=None``, which skips preprocessing — here, when ``max_peaks`` is given."""
    import torch

    if preprocess_config is not None and max_peaks is not None and max_peaks != preprocess_config.max_peaks:
        preprocess_config = replace(preprocess_config, max_peaks=max_peaks)
    batch_size = len(records)
    peaks_list = []
    for record in records:
        if preprocess_config is not None:
            mz, intensity = preprocess(record.mz, record.intensity, record.precursor_mz, record.precursor_charge, preprocess_config)
        else:
            mz, intensity = record.mz, record.intensity
            if max_peaks is not None and mz.shape[0] > max_peaks:
                top = np.sort(np.argpartition(-intensity, max_peaks - 1)[:max_peaks])
                mz, intensity = mz[top], intensity[top]
        peaks_list.append((mz, intensity))
    n_peaks = max([1] + [p[0].shape[0] for p in peaks_list])
    mz_out = np.zeros((batch_size, n_peaks), dtype=np.float64)  # (batch, peaks)
    intensity_out = np.zeros((batch_size, n_peaks), dtype=np.float32)  # (batch, peaks)
    mask = np.zeros((batch_size, n_peaks), dtype=bool)  # (batch, peaks)
    for row, (mz, intensity) in enumerate(peaks_list):
        n = mz.shape[0]
        mz_out[row, :n] = mz
        intensity_out[row, :n] = intensity
        mask[row, :n] = True

    precursor_mz = np.array([r.precursor_mz for r in records], dtype=np.float64)  # (batch,)
    charge = np.array([r.precursor_charge for r in records], dtype=np.int64)  # (batch,)
    token_rows: list[list[int]] = []
    peptide_mass = np.full(batch_size, np.nan, dtype=np.float64)  # (batch,)
    peptides: list[str | None] = []
    for row, record in enumerate(records):
        ids: list[int] = []
        peptide = record.peptide
        if peptide is not None:
            try:
                ids = tokenizer.encode(peptide)
                peptide_mass[row] = peptide_mass_da(peptide, tokenizer.vocabulary)
            except (PeptideParseError, KeyError) as error:
                warnings.warn(f"{record.where()}: label {peptide!r} not encodable ({error}); treated as unlabeled", stacklevel=2)
                ids, peptide = [], None
        token_rows.append(ids)
        peptides.append(peptide)
    length = max([1] + [len(ids) for ids in token_rows])
    tokens = np.full((batch_size, length), tokenizer.PAD, dtype=np.int64)  # (batch, length)
    for row, ids in enumerate(token_rows):
        tokens[row, : len(ids)] = ids
    return {
        "mz": torch.from_numpy(mz_out),
        "intensity": torch.from_numpy(intensity_out),
        "peak_mask": torch.from_numpy(mask),
        "precursor_mz": torch.from_numpy(precursor_mz),
        "precursor_charge": torch.from_numpy(charge),
        "precursor_mass_da": torch.from_numpy(mass_from_mz(precursor_mz, charge)),
        "tokens": torch.from_numpy(tokens),
        "peptide_mass_da": torch.from_numpy(peptide_mass),
        "label_weight": torch.tensor([float(r.label_weight) for r in records], dtype=torch.float32),  # (batch,)
        "peptides": peptides,
    }


class SpectrumCollator:
    """Picklable ``collate_fn`` for a DataLoader: ``SpectrumCollator(tokenizer)(records) -> batch``."""

    def __init__(self, tokenizer: Tokenizer, preprocess: PreprocessConfig | None = _DEFAULT,
                 max_peaks: int | None = None):
        self.tokenizer = tokenizer
        if preprocess is not None and max_peaks is not None:
            preprocess = replace(preprocess, max_peaks=max_peaks)
        self.preprocess = preprocess
        #: The most peaks a spectrum keeps (None: all, when preprocessing is skipped and no cut was asked for).
        self.max_peaks = preprocess.max_peaks if preprocess is not None else max_peaks

    @classmethod
    def from_config(cls, tokenizer: Tokenizer, config: Mapping | None) -> "SpectrumCollator":
        """The collator a run config asks for (``PreprocessConfig.from_config``, ``data.max_peaks`` included)."""
        return cls(tokenizer, PreprocessConfig.from_config(config))

    def __call__(self, records: Sequence[SpectrumRecord]) -> dict:
        return collate_spectra(records, self.tokenizer, None if self.preprocess is not None else self.max_peaks,
                               self.preprocess)

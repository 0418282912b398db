"""Spectra: records, readers, skip accounting, preprocessing, simulator,
statistics, datasets and batches."""
from renovo.data.collate import SpectrumCollator, collate_spectra
from renovo.data.labels import Label, peprec_to_proforma, read_label_table
from renovo.data.mgf import write_mgf
from renovo.data.parquet import write_parquet
from renovo.data.preprocess import PreprocessConfig, preprocess
from renovo.data.readers import read_spectra
from renovo.data.records import MalformedFileError, SkipCounter, SpectrumRecord

__all__ = [
    "Label", "MalformedFileError", "PreprocessConfig", "SkipCounter", "SpectrumCollator", "SpectrumRecord",
    "collate_spectra", "peprec_to_proforma", "preprocess", "read_label_table", "read_spectra",
    "write_mgf", "write_parquet",
]

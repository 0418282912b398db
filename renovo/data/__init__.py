"""Spectra: records, readers, skip accounting, preprocessing, simulator,
statistics, datasets and batches."""
from renovo.data.collate import SpectrumCollator, collate_spectra
from renovo.data.datasets import (
    ParquetSpectra,
    RecordList,
    SimulatedSpectra,
    load_dataset,
    resolve_rank,
    shard_info,
)
from renovo.data.labels import Label, peprec_to_proforma, read_label_table
from renovo.data.mgf import write_mgf
from renovo.data.parquet import write_parquet
from renovo.data.preprocess import PreprocessConfig, preprocess
from renovo.data.readers import check_spectrum_files, count_spectra, expand_inputs, read_spectra
from renovo.data.records import MalformedFileError, SkipCounter, SpectrumRecord
from renovo.data.simulate import Simulator, SimulatorConfig, simulate_records
from renovo.data.stats import annotate, format_table, spectrum_stats, summarize
from renovo.data.training_sets import (BucketedBatchSampler, LabelledStream, SimulatedBatches, SimulatedShare,
                                      load_labelled_dataset, peaks_after_preprocessing, simulated_per_batch,
                                      usable_records)

__all__ = [
    "BucketedBatchSampler", "Label", "LabelledStream", "MalformedFileError", "ParquetSpectra", "PreprocessConfig", "RecordList", "SimulatedBatches", "SimulatedShare", "SimulatedSpectra",
    "Simulator", "SimulatorConfig", "SkipCounter", "SpectrumCollator", "SpectrumRecord", "annotate",
    "check_spectrum_files", "collate_spectra", "count_spectra", "expand_inputs", "format_table", "load_dataset",
    "load_labelled_dataset", "peaks_after_preprocessing", "peprec_to_proforma", "preprocess", "read_label_table",
    "read_spectra", "resolve_rank", "shard_info", "simulate_records", "simulated_per_batch", "spectrum_stats", "summarize", "usable_records",
    "write_mgf", "write_parquet",
]

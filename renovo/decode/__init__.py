"""Greedy and beam search with an optional precursor-mass constraint, on the SequenceModel protocol; candidate
features and the calibrated reranker. `DecodeConfig` holds every decoding setting, `Decoder` runs them.

Names are imported from their modules when first asked for: a command's argument parser reads
`DecodeConfig`'s defaults (`renovo.decode.config`, no torch) without importing the search.
"""
from __future__ import annotations

import importlib

_MODULES = {
    "config": ("DEFAULTS", "RERANK_BEAM", "DecodeConfig", "DecodeConfigError"),
    "features": ("FEATURE_NAMES", "candidate_features"),
    "mass": ("MassFeasibility",),
    "pipeline": ("Decoder", "SequencingCounts", "assign_q_values", "decode_batches", "rerank",
                 "sequence_files"),
    "psm": ("PSM", "calc_mz", "isotope_corrected_error_ppm"),
    "scorer": ("CandidateScorer", "ScorerError", "expected_calibration_error", "file_sha256", "q_values",
               "scorer_path"),
    "search": ("Prediction", "beam_search", "greedy_decode", "search_batch"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'renovo.decode' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"renovo.decode.{module}"), name)
    globals()[name] = value
    return value

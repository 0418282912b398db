"""Greedy and beam search with an optional precursor-mass constraint, on the SequenceModel protocol; candidate
features and the calibrated reranker."""
from renovo.decode.features import FEATURE_NAMES, candidate_features
from renovo.decode.mass import MassFeasibility
from renovo.decode.pipeline import (SequencingCounts, SequencingSettings, assign_q_values, decode_batches, rerank,
                                    sequence_files)
from renovo.decode.psm import PSM, calc_mz, isotope_corrected_error_ppm
from renovo.decode.scorer import (CandidateScorer, ScorerError, expected_calibration_error, file_sha256, q_values,
                                  scorer_path)
from renovo.decode.search import Prediction, beam_search, greedy_decode

__all__ = ["CandidateScorer", "FEATURE_NAMES", "MassFeasibility", "PSM", "Prediction", "ScorerError",
           "SequencingCounts", "SequencingSettings", "assign_q_values", "beam_search", "calc_mz", "decode_batches",
           "candidate_features", "expected_calibration_error", "file_sha256", "greedy_decode",
           "isotope_corrected_error_ppm", "q_values", "rerank", "scorer_path", "sequence_files"]

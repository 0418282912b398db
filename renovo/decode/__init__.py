"""Greedy and beam search with an optional precursor-mass constraint, on the SequenceModel protocol."""
from renovo.decode.mass import MassFeasibility
from renovo.decode.pipeline import SequencingCounts, SequencingSettings, decode_batches, sequence_files
from renovo.decode.psm import PSM, calc_mz, isotope_corrected_error_ppm
from renovo.decode.search import Prediction, beam_search, greedy_decode

__all__ = ["MassFeasibility", "PSM", "Prediction", "SequencingCounts", "SequencingSettings", "beam_search",
           "calc_mz", "decode_batches", "greedy_decode", "isotope_corrected_error_ppm", "sequence_files"]

"""Greedy and beam search with an optional precursor-mass constraint, on the SequenceModel protocol."""
from renovo.decode.mass import MassFeasibility
from renovo.decode.search import Prediction, beam_search, greedy_decode

__all__ = ["MassFeasibility", "Prediction", "beam_search", "greedy_decode"]

"""Field-standard metrics of predicted peptides, precision–coverage, reports."""
from renovo.evaluate.metrics import (
    CONFUSION_PAIRS,
    PeptideMatch,
    area_under_curve,
    evaluate_peptides,
    match_peptide,
    precision_coverage,
)

__all__ = [
    "CONFUSION_PAIRS", "PeptideMatch", "area_under_curve", "evaluate_peptides", "match_peptide",
    "precision_coverage",
]

"""Field-standard metrics of predicted peptides, precision–coverage, prediction files and reports."""
from renovo.evaluate.io import (
    PSM,
    read_csv,
    read_instanovo_csv,
    read_mztab,
    read_predictions,
    write_csv,
    write_mztab,
)
from renovo.evaluate.metrics import (
    CONFUSION_PAIRS,
    PeptideMatch,
    area_under_curve,
    evaluate_peptides,
    match_peptide,
    precision_coverage,
)
from renovo.evaluate.report import (
    accuracy_by_length,
    evaluate_psms,
    format_table,
    join_predictions,
    join_psms,
    write_report,
)

__all__ = [
    "CONFUSION_PAIRS", "DecodedValidationMetrics", "PSM", "PeptideMatch", "accuracy_by_length", "area_under_curve",
    "evaluate_peptides", "evaluate_psms", "format_table", "join_predictions", "join_psms", "match_peptide",
    "precision_coverage", "read_csv", "read_instanovo_csv", "read_mztab", "read_predictions", "write_csv",
    "write_mztab", "write_report",
]


def __getattr__(name):
    # The callback needs lightning; import it only when asked for.
    if name == "DecodedValidationMetrics":
        from renovo.evaluate.callback import DecodedValidationMetrics

        return DecodedValidationMetrics
    raise AttributeError(f"module 'renovo.evaluate' has no attribute {name!r}")

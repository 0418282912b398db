"""Verdict wording that depends on what was measured: the AdamW step share, the gradient share, raw norms."""
from __future__ import annotations

from renovo.experiments.verdicts import ce_stays_primary


def _entry(value):
    return {"mean": value, "sd": 0.0, "n": 3, "values": [value] * 3, "seeds": [0, 1, 2]}


def _agg(ce_share=None, spectrum_share=None, share="gradient_share"):
    stage = {"primary/ce_over_weighted_min": _entry(5.0),
             "gradflow/stage3/ce_norm": _entry(1.0), "gradflow/stage3/spectrum_weighted_norm": _entry(2.0),
             "gradflow/stage3/precursor_weighted_norm": _entry(0.1)}
    if ce_share is not None:
        stage |= {f"gradflow/stage3/ce_{share}": _entry(ce_share),
                  f"gradflow/stage3/spectrum_{share}": _entry(spectrum_share),
                  f"gradflow/stage3/precursor_{share}": _entry(1.0 - ce_share - spectrum_share)}
    return {"gaussian_losses": stage}


def test_raw_norms_alone_are_labelled_raw():
    verdict = ce_stays_primary(_agg(), ["gaussian_losses"])["verdict"]
    assert "raw gradient" in verdict and "not the update" in verdict


def test_gradient_share_decides_when_logged():
    # The spectrum gradient is twice CE's in raw norm, but mostly orthogonal: CE still sets most of the step.
    supported = ce_stays_primary(_agg(0.7, 0.25), ["gaussian_losses"])["verdict"]
    assert "CE's share is the largest" in supported and "raw gradient" not in supported
    assert "share of the summed gradient" in supported and "not the optimizer step" in supported
    refuted = ce_stays_primary(_agg(0.3, 0.65), ["gaussian_losses"])
    assert "in the update NOT supported" in refuted["verdict"] and "(65% vs CE's 30%)" in refuted["verdict"]


def test_adamw_step_share_is_preferred_when_logged():
    agg = _agg(0.3, 0.65)
    agg["gaussian_losses"] |= {k: v for k, v in _agg(0.8, 0.15, "adamw_step_share")[
        "gaussian_losses"].items() if "adamw" in k}
    verdict = ce_stays_primary(agg, ["gaussian_losses"])["verdict"]
    assert "in the update supported (share of the AdamW step" in verdict

"""A fallback PSM (no candidate fits the precursor) sorts below every mass-matched PSM: its score is shifted
by −1, as Casanovo 4.x did, with and without a scorer."""
from __future__ import annotations

import shutil

import numpy as np

from renovo.cli import main
from renovo.data import SpectrumRecord, write_mgf
from renovo.data.simulate import simulate_records
from renovo.decode import scorer_path
from renovo.evaluate import read_csv
from tests.decode.test_rerank import _scorer_for


def _spectra(path):
    good = list(simulate_records(3, seed=3))
    # 9,000 Da at charge 2: no peptide of at most 12 residues reaches it, so the search falls back
    heavy = SpectrumRecord(good[0].mz, good[0].intensity, 4501.0, 2, title="heavy")
    write_mgf([good[0], heavy, good[1], good[2]], path)


def _check(psms):
    fallback = [p for p in psms if not p.precursor_match]
    matched = [p for p in psms if p.precursor_match]
    assert [p.index for p in fallback] == [1] and len(matched) == 3
    assert fallback[0].score < 0 and max(p.score for p in fallback) < min(p.score for p in matched)
    return fallback[0]


def test_fallback_sorts_below_mass_matched(tmp_path, checkpoint):
    spectra = tmp_path / "s.mgf"
    _spectra(spectra)
    out = tmp_path / "p.csv"
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--beam", "2",
                 "--max-length", "12", "--no-progress"]) == 0
    fallback = _check(read_csv(out))
    assert -1.0 <= fallback.score < 0.0


def test_reranked_fallback_sorts_below_and_keeps_its_q_value(tmp_path, checkpoint):
    model = tmp_path / "m.ckpt"
    shutil.copy(checkpoint, model)
    _scorer_for(model, {"beam_rank": 1.0}).save(scorer_path(model))
    spectra = tmp_path / "s.mgf"
    _spectra(spectra)
    out = tmp_path / "r.csv"
    assert main(["sequence", str(spectra), "--model", str(model), "-o", str(out), "--beam", "2",
                 "--max-length", "12", "--no-progress"]) == 0
    psms = read_csv(out)
    fallback = _check(psms)
    assert -1.0 <= fallback.score < 0.0  # the calibrated probability − 1
    q = np.array([p.q_value for p in psms])
    order = np.argsort([-p.score for p in psms], kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-12) and np.all((q >= 0) & (q <= 1))

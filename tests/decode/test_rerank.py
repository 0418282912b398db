"""`renovo sequence` with a scorer: candidates reordered by calibrated probability, q-values, feature columns."""
from __future__ import annotations

import shutil

import numpy as np
from pyteomics import mztab

from renovo.cli import main
from renovo.data import write_mgf
from renovo.data.simulate import simulate_records
from renovo.decode import FEATURE_NAMES, CandidateScorer, file_sha256, scorer_path
from renovo.evaluate import read_csv, read_mztab


def _scorer_for(checkpoint, weights: dict[str, float]) -> CandidateScorer:
    coef = [weights.get(name, 0.0) for name in FEATURE_NAMES]
    return CandidateScorer(features=list(FEATURE_NAMES), mean=[0.0] * len(coef), scale=[1.0] * len(coef), coef=coef,
                           intercept=0.0, calibration_x=[-5.0, 5.0], calibration_y=[0.05, 0.95],
                           checkpoint_sha256=file_sha256(checkpoint), fitted_on={"source": "test"})


def test_reranked_output_has_probabilities_q_values_and_features(tmp_path, checkpoint, capsys):
    model = tmp_path / "m.ckpt"
    shutil.copy(checkpoint, model)
    # A scorer that prefers the beam's LAST candidate: reranking must visibly reorder.
    _scorer_for(model, {"beam_rank": 1.0}).save(scorer_path(model))
    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(5, seed=2), spectra)
    common = [str(spectra), "--model", str(model), "--max-length", "8", "--batch-size", "4", "--beam", "3",
              "--no-mass-constraint"]
    assert main(["sequence", *common, "-o", str(tmp_path / "r.mztab"), "--csv", str(tmp_path / "r.csv")]) == 0
    assert "reranking beam-3 candidates" in capsys.readouterr().out
    assert main(["sequence", *common, "-o", str(tmp_path / "p.mztab"), "--no-rerank", "--top-k", "3"]) == 0
    reranked, plain = read_mztab(tmp_path / "r.mztab"), read_mztab(tmp_path / "p.mztab")
    assert len(reranked) == 5
    last_of_beam = {p.index: p.peptide for p in plain if p.rank == 3}
    for psm in reranked:
        assert 0.0 <= psm.score <= 1.0 and psm.q_value is not None and psm.model_score is not None
        assert set(psm.features) == set(FEATURE_NAMES) and psm.features["beam_rank"] == 2.0
        if psm.index in last_of_beam:
            assert psm.peptide == last_of_beam[psm.index]
    q = np.array([p.q_value for p in reranked])
    order = np.argsort([-p.score for p in reranked], kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-12)
    rows = mztab.MzTab(str(tmp_path / "r.mztab"), table_format="dict").spectrum_match_table["rows"]
    assert {"opt_global_q_value", "opt_global_model_score", "opt_global_ion_fraction"} <= set(rows[0])
    csv = read_csv(tmp_path / "r.csv")
    assert [p.q_value for p in csv] == [p.q_value for p in reranked] and csv[0].features == reranked[0].features
    assert all(p.q_value is None and not p.features for p in plain)


def test_a_scorer_of_another_checkpoint_is_refused(tmp_path, checkpoint, capsys):
    model = tmp_path / "m.ckpt"
    shutil.copy(checkpoint, model)
    other = tmp_path / "other.ckpt"
    other.write_bytes(b"not the same")
    _scorer_for(other, {}).save(tmp_path / "s.json")
    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(1, seed=2), spectra)
    assert main(["sequence", str(spectra), "--model", str(model), "--scorer", str(tmp_path / "s.json"),
                 "-o", str(tmp_path / "x.mztab")]) == 2
    assert "fitted for another checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "x.mztab").exists()

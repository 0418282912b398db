"""`renovo bench decode` runs and writes its JSON (speed targets live in the benchmark, not here)."""
from __future__ import annotations

import json

from renovo.cli import main


def test_bench_decode_writes_json(tmp_path):
    out = tmp_path / "decode.json"
    assert main(["bench", "decode", "--preset", "tiny", "--batch-size", "2", "--batches", "1", "--max-length", "4",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"greedy", "beam5", "beam5_mass"}
    for result in report["results"].values():
        assert result["spectra"] == 2 and result["spectra_per_s"] > 0
    assert "precursor_in_tolerance" in report["results"]["beam5_mass"]
    # Peer figures are measured side by side (benchmarks/peers/casanovo), never quoted here.
    assert not any("casanovo" in key.lower() or key == "reference" for key in report)

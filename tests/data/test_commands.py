"""`renovo simulate`, `renovo convert`, `renovo data stats` as a user runs them."""
from __future__ import annotations

import json

from renovo.cli import main
from renovo.data import read_spectra


def test_simulate_mgf_and_sharded_parquet(tmp_path, capsys):
    assert main(["simulate", "-n", "25", "-o", str(tmp_path / "sim.mgf"), "--seed", "4"]) == 0
    records = list(read_spectra(tmp_path / "sim.mgf"))
    assert len(records) == 25 and all(r.peptide for r in records)
    settings = json.loads((tmp_path / "sim.simulate.json").read_text())
    assert settings["seed"] == 4 and settings["simulator"]["noise_peaks_mean"] > 0
    # sim.simulate.json now exists (it describes sim.mgf): replacing it needs --force
    assert main(["simulate", "-n", "25", "-o", str(tmp_path / "sim.parquet"), "--seed", "4", "--shard-size", "10"]) == 2
    assert "sim.simulate.json already exists; use -f/--force" in capsys.readouterr().err
    assert not list(tmp_path.glob("sim_*.parquet"))  # refused before any work
    assert main(["simulate", "-n", "25", "-o", str(tmp_path / "sim.parquet"), "--seed", "4", "--shard-size", "10", "-f"]) == 0
    shards = sorted(tmp_path.glob("sim_*.parquet"))
    assert [p.name for p in shards] == ["sim_00000.parquet", "sim_00001.parquet", "sim_00002.parquet"]
    sharded = [r for p in shards for r in read_spectra(p)]
    assert [r.peptide for r in sharded] == [r.peptide for r in records]
    assert main(["simulate", "-n", "5", "-o", str(tmp_path / "sim.txt")]) == 2
    assert "must end in .mgf or .parquet" in capsys.readouterr().err


def test_convert_real_files_and_print_skips(real_dir, tmp_path, capsys):
    bad = tmp_path / "bad.mgf"
    bad.write_text("BEGIN IONS\nTITLE=x\nPEPMASS=400\n100 1\nEND IONS\n")
    out = tmp_path / "all.parquet"
    inputs = [str(real_dir / n) for n in ("casanovo_mouse_128.mgf", "winnow_hela_profile_100.mgf", "massivekb_500.mgf")]
    assert main(["convert", *inputs, str(bad), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wrote 728 spectra" in printed and "skipped 1" in printed and "no precursor charge" in printed
    records = list(read_spectra(out))
    assert len(records) == 728 and sum(r.peptide is not None for r in records) == 728
    summary = json.loads((tmp_path / "all.convert.json").read_text())
    assert summary["total"]["skipped"] == {"no precursor charge": 1}


def test_convert_stops_on_malformed_file(tmp_path, capsys):
    bad = tmp_path / "broken.mgf"
    bad.write_text("BEGIN IONS\nPEPMASS=400\nCHARGE=2\n100 x\nEND IONS\n")
    assert main(["convert", str(bad), "-o", str(tmp_path / "o.parquet")]) == 2
    assert "broken.mgf:4" in capsys.readouterr().err


def test_data_stats_side_by_side(real_dir, tmp_path, capsys):
    assert main(["data", "stats", str(real_dir / "casanovo_mouse_128.mgf"), str(real_dir / "massivekb_500.mgf"),
                 "--simulate", "50", "--json", str(tmp_path / "s.json")]) == 0
    printed = capsys.readouterr().out
    header = printed.splitlines()[0]
    assert "casanovo_mouse_128.mgf" in header and "massivekb_500.mgf" in header and "simulated" in header
    for row in ("label rate", "peaks / spectrum", "precursor charge", "intensity in b/y", "b/y coverage", "noise peaks"):
        assert row in printed
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["massivekb_500.mgf"]["spectra"] == 500
    assert main(["data", "stats"]) == 2


def test_bench_data_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "data", "-n", "40", "--files", "-o", str(out)]) == 0
    rates = json.loads(out.read_text())["spectra_per_s"]
    assert set(rates) == {"simulate", "collate", "write_parquet", "stream_parquet", "read_parquet_validated"}
    assert all(value > 0 for value in rates.values())


def _ms1_only_mzml(path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_mzml import PEAKS, mzml_text, spectrum_xml

    path.write_text(mzml_text([spectrum_xml(i, *PEAKS, ms_level=1) for i in range(3)]))
    return path


def test_convert_that_keeps_no_spectrum_fails_unless_allowed(tmp_path, capsys):
    """An MS1-only mzML converted to an empty Parquet with exit 0 and no word."""
    source = _ms1_only_mzml(tmp_path / "ms1.mzML")
    out = tmp_path / "out.parquet"
    assert main(["convert", str(source), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert err.startswith("renovo convert: error: no spectra kept") and "3 not an MS2 spectrum" in err
    assert "--allow-empty" in err and not out.exists()
    assert main(["convert", str(source), "-o", str(out), "--allow-empty"]) == 0
    assert "warning: 0 spectra" in capsys.readouterr().err
    assert out.exists() and list(read_spectra(out)) == []


def test_simulate_zero_spectra_warns(tmp_path, capsys):
    assert main(["simulate", "-n", "0", "-o", str(tmp_path / "none.mgf")]) == 0
    assert "warning: 0 spectra" in capsys.readouterr().err

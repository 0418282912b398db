"""`renovo sequence` end to end: a checkpoint, simulated and real spectra, mzTab that pyteomics reads."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from pyteomics import mztab

from renovo.cli import main
from renovo.data import write_mgf
from renovo.data.simulate import simulate_records
from renovo.evaluate import read_csv


def test_sequence_simulated_file(tmp_path, checkpoint, capsys):
    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(6, seed=1), spectra)
    out = tmp_path / "pred.mztab"
    code = main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--csv", str(tmp_path / "pred.csv"),
                 "--beam", "2", "--top-k", "2", "--max-length", "8", "--batch-size", "4"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "read 6 spectra" in printed and "sequenced 6 spectra" in printed
    rows = mztab.MzTab(str(out), table_format="dict").spectrum_match_table["rows"]
    refs = sorted({r["spectra_ref"] for r in rows})
    assert refs == [f"ms_run[1]:index={i}" for i in range(6)]
    for row in rows:
        assert row["opt_global_rank"] in (1, 2)
        assert len(row["opt_global_aa_scores"].split(",")) >= 1
    assert len(read_csv(tmp_path / "pred.csv")) == len(rows)
    log = (tmp_path / "pred.log").read_text()  # beside the output: command, settings, what was printed
    assert "# command: renovo" in log and "beam=2" in log and "sequenced 6 spectra" in log and "# versions:" in log
    settings = json.loads((tmp_path / "pred.sequence.json").read_text())
    assert settings["beam"] == 2 and settings["counts"]["read"] == 6 and settings["precursor_tolerance_ppm"] == 50.0


def test_sequence_real_file_reports_counts(tmp_path, checkpoint, shared_data, capsys):
    real = shared_data / "real" / "casanovo_mouse_128.mgf"
    out = tmp_path / "mouse.mztab"
    code = main(["sequence", str(real), "--model", str(checkpoint), "-o", str(out), "--beam", "1",
                 "--max-length", "6", "--no-mass-constraint", "--batch-size", "64"])
    assert code == 0
    rows = mztab.MzTab(str(out), table_format="dict").spectrum_match_table["rows"]
    assert len(rows) == 127  # one spectrum keeps 14 peaks after preprocessing: under the default min-peaks 20
    printed = capsys.readouterr().out
    assert "read 127 spectra" in printed and "skipped 1" in printed
    assert "1  fewer than 20 peaks after preprocessing" in printed and "kept 127 of 128 spectra" in printed


def test_sequence_errors_are_one_line(tmp_path, checkpoint, capsys):
    assert main(["sequence", str(tmp_path / "missing.mgf"), "--model", str(checkpoint), "-o", str(tmp_path / "x.mztab")]) == 2
    assert "no spectrum file" in capsys.readouterr().err
    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(1, seed=1), spectra)
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(tmp_path / "x.mztab"), "--beam", "2", "--top-k", "3"]) == 2


@pytest.mark.parametrize("option, message", [
    (["--beam", "0"], "--beam must be an integer ≥ 1, not 0"),
    (["--batch-size", "-3"], "--batch-size must be an integer ≥ 1, not -3"),
    (["--precursor-tolerance-ppm", "0"], "--precursor-tolerance-ppm must be a number > 0 (ppm) or unset, not 0.0"),
    (["--beam", "2", "--top-k", "3"], "--top-k must be ≤ beam (2), not 3"),
])
def test_invalid_decode_settings_are_one_line_naming_the_option(option, message, tmp_path, checkpoint, capsys):
    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(1, seed=1), spectra)
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(tmp_path / "x.mztab"), *option]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(message) and not (tmp_path / "x.mztab").exists()
    # A non-number is argparse's own one line, naming the option.
    with pytest.raises(SystemExit):
        main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(tmp_path / "x.mztab"),
              "--precursor-tolerance-ppm", "abc"])
    assert "--precursor-tolerance-ppm" in capsys.readouterr().err


def test_sequence_every_input_kind(tmp_path, checkpoint, capsys):
    """An mzXML, a folder, a .gz MGF and an InstaNovo Parquet sequenced in one run."""
    import gzip

    from tests.data.writers import write_instanovo_parquet, write_mzxml

    folder = tmp_path / "folder"
    folder.mkdir()
    write_mgf(simulate_records(2, seed=1), folder / "a.mgf")
    write_mzxml(list(simulate_records(2, seed=2)), tmp_path / "b.mzXML")
    write_mgf(simulate_records(2, seed=3), tmp_path / "c.mgf")
    (tmp_path / "c.mgf.gz").write_bytes(gzip.compress((tmp_path / "c.mgf").read_bytes()))
    write_instanovo_parquet(list(simulate_records(2, seed=4)), tmp_path / "d.parquet")
    out = tmp_path / "all.csv"
    code = main(["sequence", str(folder), str(tmp_path / "b.mzXML"), str(tmp_path / "c.mgf.gz"),
                 str(tmp_path / "d.parquet"), "--model", str(checkpoint), "-o", str(out), "--beam", "1",
                 "--max-length", "5", "--no-progress"])
    assert code == 0
    assert "read 8 spectra from 4 file(s)" in capsys.readouterr().out
    psms = read_csv(out)  # -o .csv writes CSV, not mzTab
    assert out.read_text().startswith("file,index,scan_number")
    assert sorted({Path(p.source_file).name for p in psms}) == ["a.mgf", "b.mzXML", "c.mgf.gz", "d.parquet"]
    assert len({(p.source_file, p.index) for p in psms}) == 8


def test_multi_file_parquet_references_are_unique(tmp_path, checkpoint, capsys):
    """A Parquet made from two MGFs: one ms_run per source MGF, so every reference resolves and
    evaluate scores every spectrum; the same spectra labelled twice are refused."""
    a, b = tmp_path / "a.mgf", tmp_path / "b.mgf"
    write_mgf(simulate_records(3, seed=5), a)
    write_mgf(simulate_records(4, seed=6), b)
    parquet = tmp_path / "ab.parquet"
    assert main(["convert", str(a), str(b), "-o", str(parquet)]) == 0
    out = tmp_path / "ab.mztab"
    assert main(["sequence", str(parquet), "--model", str(checkpoint), "-o", str(out), "--beam", "1",
                 "--max-length", "5", "--no-progress"]) == 0
    table = mztab.MzTab(str(out), table_format="dict")
    refs = [r["spectra_ref"] for r in table.spectrum_match_table["rows"]]
    assert len(refs) == 7 and len(set(refs)) == 7
    runs = {k: v for k, v in table.metadata.items() if k.endswith("-location")}
    assert sorted(Path(v.replace("file://", "")).name for v in runs.values()) == ["a.mgf", "b.mgf"]
    assert main(["evaluate", str(out), "--labels", str(parquet), "-o", str(tmp_path / "e")]) == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["n_spectra"] == 7 and metrics["n_predicted"] == 7
    assert metrics["predictions_without_labelled_spectrum"] == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--labels", str(parquet), str(a), "-o", str(tmp_path / "e2")]) == 2
    assert "appears twice" in capsys.readouterr().err


def test_sequence_without_cuda_is_one_line(tmp_path, checkpoint, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(1, seed=1), spectra)
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(tmp_path / "x.mztab"),
                 "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and len(err.strip().splitlines()) == 1


def test_sequence_never_imports_lightning(tmp_path, checkpoint):
    import subprocess
    import sys

    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(2, seed=1), spectra)
    script = (
        "import sys\n"
        "from renovo.cli import main\n"
        f"assert main(['sequence', {str(spectra)!r}, '--model', {str(checkpoint)!r}, '-o', "
        f"{str(tmp_path / 'x.mztab')!r}, '--beam', '1', '--max-length', '4', '--no-progress']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"

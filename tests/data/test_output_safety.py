"""Nothing lost, nothing overwritten: `convert`, `simulate` and `data stats --json` as a user runs them
with bad inputs and existing outputs (atomic outputs, guarded paths, inputs checked before any work)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from renovo.cli import main
from renovo.data import read_spectra

NASTY = Path(__file__).parent / "corpus" / "nasty"


@pytest.fixture
def good(tmp_path):
    """A good converted file and its sidecar, as a user has them before the next command."""
    out = tmp_path / "good.parquet"
    assert main(["convert", str(NASTY / "crlf.mgf"), "-o", str(out)]) == 0
    return out, out.read_bytes(), (tmp_path / "good.convert.json").read_text()


def one_error_line(err: str) -> str:
    """The error of a run that failed as a user should see it: one line, no traceback (progress bars aside)."""
    assert "Traceback" not in err
    lines = [line for line in err.replace("\r", "\n").splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


def assert_intact(good):
    out, data, sidecar = good
    assert out.read_bytes() == data
    assert out.with_name("good.convert.json").read_text() == sidecar
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind


@pytest.mark.parametrize("bad", ["garbage.mgf", "missing_end_ions_at_eof.mgf", "truncated.mgf"])
def test_failing_convert_keeps_the_existing_file_and_sidecar(good, bad, capsys):
    out = good[0]
    assert main(["convert", str(NASTY / bad), "-o", str(out), "--force"]) == 2
    assert bad in one_error_line(capsys.readouterr().err)
    assert_intact(good)
    assert len(list(read_spectra(out))) == 3


def test_convert_refuses_existing_output_without_force(good, capsys):
    assert main(["convert", str(NASTY / "bom.mgf"), "-o", str(good[0])]) == 2
    assert "already exists; use -f/--force" in capsys.readouterr().err
    assert_intact(good)
    assert main(["convert", str(NASTY / "bom.mgf"), "-o", str(good[0]), "-f"]) == 0
    assert len(list(read_spectra(good[0]))) == 1
    assert json.loads(good[0].with_name("good.convert.json").read_text())["spectra"] == 1


def test_convert_refuses_an_input_as_output(tmp_path, capsys):
    source = tmp_path / "in.parquet"
    assert main(["convert", str(NASTY / "crlf.mgf"), "-o", str(source)]) == 0
    before = source.read_bytes()
    assert main(["convert", str(source), "-o", str(source), "--force"]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert source.read_bytes() == before


def test_bad_file_late_in_the_list_stops_before_any_work(tmp_path, capsys):
    out = tmp_path / "all.parquet"
    inputs = [str(NASTY / "crlf.mgf"), str(NASTY / "bom.mgf"), str(NASTY / "garbage.mzML")]
    assert main(["convert", *inputs, "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert "garbage.mzML" in captured.err and "spectra" not in captured.out
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("name, words", [
    ("integer_peptide.parquet", "column 'peptide' is int64"),
    ("wrong_optional_types.parquet", "column 'title' is double"),
])
def test_parquet_with_bad_columns_is_one_line_in_every_command(tmp_path, name, words, capsys):
    for argv in (["convert", str(NASTY / name), "-o", str(tmp_path / "x.parquet")],
                 ["data", "stats", str(NASTY / name)]):
        assert main(argv) == 2, argv
        line = one_error_line(capsys.readouterr().err)
        assert words in line and name in line, line


def test_parquet_bad_rows_are_counted_skips(tmp_path, capsys):
    out = tmp_path / "clean.parquet"
    assert main(["convert", str(NASTY / "unequal_peaks.parquet"), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wrote 1 spectra" in printed and "m/z and intensity lists of different lengths" in printed
    assert main(["data", "stats", str(NASTY / "unequal_peaks.parquet")]) == 0
    assert "m/z and intensity lists of different lengths" in capsys.readouterr().out


def test_decimal_comma_pepmass_is_a_counted_skip(tmp_path, capsys):
    assert main(["convert", str(NASTY / "decimal_comma.mgf"), "-o", str(tmp_path / "c.parquet")]) == 0
    printed = capsys.readouterr().out
    assert "wrote 2 spectra" in printed and "decimal comma" in printed
    assert all(r.precursor_mz == 500.25 for r in read_spectra(tmp_path / "c.parquet"))


def test_simulate_guards_and_keeps_data_and_sidecar_consistent(tmp_path, capsys):
    out = tmp_path / "sim.mgf"
    assert main(["simulate", "-n", "4", "-o", str(out)]) == 0
    before = out.read_bytes(), (tmp_path / "sim.simulate.json").read_text()
    assert main(["simulate", "-n", "9", "-o", str(out)]) == 2
    assert "already exists; use -f/--force" in capsys.readouterr().err
    assert (out.read_bytes(), (tmp_path / "sim.simulate.json").read_text()) == before
    assert main(["simulate", "-n", "9", "-o", str(out), "--force"]) == 0
    assert len(list(read_spectra(out))) == json.loads((tmp_path / "sim.simulate.json").read_text())["count"] == 9


def test_data_stats_json_guard(tmp_path, capsys):
    target = tmp_path / "stats.json"
    assert main(["data", "stats", str(NASTY / "bom.mgf"), "--json", str(NASTY / "bom.mgf")]) == 2
    assert "is also an input" in capsys.readouterr().err
    target.write_text("{}")
    assert main(["data", "stats", str(NASTY / "bom.mgf"), "--json", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err and target.read_text() == "{}"
    assert main(["data", "stats", str(NASTY / "bom.mgf"), "--json", str(target), "-f"]) == 0
    assert "bom.mgf" in json.loads(target.read_text())


def test_streamed_parquet_validates_bad_row_groups_on_the_fast_path():
    """Training's trusted fast path (no vocabulary) checks each row group too: bad rows are counted skips."""
    from renovo.data import ParquetSpectra
    from renovo.data import records as R

    stream = ParquetSpectra(NASTY / "unequal_peaks.parquet", shuffle_buffer=0)
    records = list(stream)
    assert [r.peptide for r in records] == ["PEPTIDEK"]
    assert stream.skips[R.PEAK_LENGTHS] == 2 and stream.skips[R.NO_PRECURSOR] == 1

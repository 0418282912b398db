"""Label tables: peprec modifications → ProForma, TSV/CSV tables."""
from __future__ import annotations

import pytest

from renovo.chem import PeptideParseError, UnknownModificationError, parse_peptide
from renovo.data import MalformedFileError, peprec_to_proforma, read_label_table


@pytest.mark.parametrize(
    "peptide,mods,canonical",
    [
        ("LIHDGCLLWK", "6|Carbamidomethyl", "LIHDGC[Carbamidomethyl]LLWK"),
        ("PEPTIDEK", "-", "PEPTIDEK"),
        ("PEPTIDEK", "", "PEPTIDEK"),
        ("MNLSESLLR", "0|Acetyl", "[Acetyl]-MNLSESLLR"),
        ("KWQDEDGKK", "0|Carbamyl", "[Carbamyl]-KWQDEDGKK"),
        ("QKPPEGFMAPK", "1|Pyro_glu", "[Gln->pyro-Glu]-QKPPEGFMAPK"),
        ("YYLICSLSHNGK", "5|Carbamidomethyl|10|Deamidation", "YYLIC[Carbamidomethyl]SLSHN[Deamidated]GK"),
        ("STMSVGIDHLALDEIKK", "3|Oxidation", "STM[Oxidation]SVGIDHLALDEIKK"),
        ("DFGLDLQPCIDLIEK", "0|Carbamyl|9|Carbamidomethyl", "[Carbamyl]-DFGLDLQPC[Carbamidomethyl]IDLIEK"),
    ],
)
def test_peprec_to_proforma(peptide, mods, canonical):
    assert parse_peptide(peprec_to_proforma(peptide, mods)).proforma == canonical


@pytest.mark.parametrize("mods,error", [
    ("3", PeptideParseError), ("x|Oxidation", PeptideParseError), ("12|Oxidation", PeptideParseError),
    ("-1|Amidated", UnknownModificationError), ("1|Oxidation|1|Oxidation", PeptideParseError),
])
def test_bad_peprec_modifications(mods, error):
    with pytest.raises(error):
        peprec_to_proforma("MPEPK", mods)


def test_real_peprec_table(real_dir):
    labels = read_label_table(real_dir / "massivekb_500.peprec")
    assert len(labels) == 500
    assert all(label.error is None for label in labels.values())
    assert labels["massive_hcd_930799"].charge == 2


def test_tables_csv_tsv_and_errors(tmp_path):
    (tmp_path / "a.csv").write_text("title,sequence\nx,PEPTIDEK\ny,PEPS[Phospho]K\n")
    labels = read_label_table(tmp_path / "a.csv")
    assert labels["x"].text == "PEPTIDEK" and labels["y"].text == "PEPS[Phospho]K"
    (tmp_path / "b.tsv").write_text("title\tpeptide\nx\n")
    with pytest.raises(MalformedFileError, match="b.tsv:2"):
        read_label_table(tmp_path / "b.tsv")
    (tmp_path / "c.tsv").write_text("name\tpeptide\nx\tPEPK\n")
    with pytest.raises(MalformedFileError, match="no title column"):
        read_label_table(tmp_path / "c.tsv")
    (tmp_path / "d.peprec").write_text("spec_id modifications peptide charge\ns1 -1|Amidated PEPK 2\n")
    bad = read_label_table(tmp_path / "d.peprec")["s1"]
    assert isinstance(bad.error, UnknownModificationError)


def test_one_title_with_two_peptides_is_an_error_naming_it(tmp_path):
    """Two rows with one title and different peptides: the last one won, silently."""
    path = tmp_path / "labels.tsv"
    path.write_text("title\tpeptide\nscan=1\tPEPTIDEK\nscan=2\tACDK\nscan=1\tPEPTLDEK\n")
    with pytest.raises(MalformedFileError) as error:
        read_label_table(path)
    message = str(error.value)
    assert "labels.tsv:4" in message and "'scan=1'" in message and "line 2" in message
    # The same label twice is not a conflict.
    path.write_text("title\tpeptide\nscan=1\tPEPTIDEK\nscan=1\tPEPTIDEK\n")
    assert read_label_table(path)["scan=1"].text == "PEPTIDEK"


def _mgf(path, titles):
    from renovo.data import write_mgf
    from renovo.data.simulate import simulate_records

    records = list(simulate_records(len(titles), seed=1))
    for record, title in zip(records, titles):
        record.title, record.peptide = title, None
    write_mgf(records, path)
    return path


def test_label_table_matching_no_spectrum_is_an_error(tmp_path):
    """A table whose titles are not the file's: every spectrum came out unlabelled, and no word was said."""
    from renovo.data import read_spectra

    spectra = _mgf(tmp_path / "run.mgf", ["a", "b", "c"])
    table = tmp_path / "labels.tsv"
    table.write_text("title\tpeptide\nx\tPEPTIDEK\ny\tACDK\n")
    with pytest.raises(MalformedFileError) as error:
        list(read_spectra(spectra, labels=table))
    message = str(error.value)
    assert "labels.tsv" in message and "run.mgf" in message and "none of the 2" in message and "'a'" in message


def test_label_table_matching_few_spectra_warns(tmp_path, capsys):
    from renovo.data import read_spectra

    spectra = _mgf(tmp_path / "run.mgf", ["a", "b", "c", "d"])
    table = tmp_path / "labels.tsv"
    table.write_text("title\tpeptide\na\tPEPTIDEK\ny\tACDK\n")
    records = list(read_spectra(spectra, labels=table))
    assert [r.peptide for r in records] == ["PEPTIDEK", None, None, None]
    err = capsys.readouterr().err
    assert "warning" in err and "1 of 4 spectra" in err and "labels.tsv" in err
    # All matched: nothing said.
    table.write_text("title\tpeptide\na\tPEPTIDEK\nb\tACDK\nc\tACDK\nd\tACDK\n")
    list(read_spectra(spectra, labels=table))
    assert capsys.readouterr().err == ""


def test_label_table_with_a_byte_order_mark_is_read(tmp_path):
    """Excel writes UTF-8 CSV with a BOM: the first column was '\\ufefftitle', "no title column"."""
    path = tmp_path / "labels.csv"
    path.write_bytes(b"\xef\xbb\xbftitle,peptide\nscan=1,PEPTIDEK\n")
    assert read_label_table(path)["scan=1"].text == "PEPTIDEK"
    path.write_bytes("title\tpeptide\nscan=1\tPEPTIDEK\n".encode("utf-16"))
    assert read_label_table(path)["scan=1"].text == "PEPTIDEK"


def test_label_table_in_an_unreadable_encoding_names_it(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_bytes("title,peptide\nscan=1,PEPTIDEK\n".encode("utf-16-le"))
    with pytest.raises(MalformedFileError, match="labels.csv:1: label table looks like UTF-16 without a byte-order mark"):
        read_label_table(path)
    path.write_bytes(b"title,peptide\nr\xe9sum\xe9,PEPTIDEK\n")
    with pytest.raises(MalformedFileError, match=r"labels.csv:2: label table is not valid UTF-8 text"):
        read_label_table(path)

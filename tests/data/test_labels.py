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

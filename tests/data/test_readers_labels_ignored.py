"""Inference reads spectra whatever their labels say."""
from renovo.data import SkipCounter, read_spectra

MGF = """BEGIN IONS
TITLE=a
PEPMASS=500.0
CHARGE=2+
SEQ=PEPS[Phospho]K
100.0 1.0
200.0 2.0
END IONS
BEGIN IONS
TITLE=b
PEPMASS=500.0
CHARGE=2+
SEQ=PEPXK
100.0 1.0
END IONS
"""


def test_unreadable_labels_skip_by_default_and_are_ignored_on_request(tmp_path):
    path = tmp_path / "labels.mgf"
    path.write_text(MGF)
    skips = SkipCounter()
    assert list(read_spectra(path, skips=skips)) == []
    assert sum(skips.counts.values()) == 2
    skips = SkipCounter()
    records = list(read_spectra(path, labels=False, skips=skips, on_unknown_mod="ignore"))
    assert [r.title for r in records] == ["a", "b"]
    assert all(r.peptide is None for r in records)
    assert sum(skips.counts.values()) == 0

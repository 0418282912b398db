"""Offline: the main commands run in-process with networking blocked, and
nothing even tries to reach the network (attempts are recorded, so a library
that swallows the error and falls back — as psims does for psi-ms.obo — is
still caught).

Blocked: ``socket.socket.connect``/``connect_ex`` (except Unix-domain
sockets, which DataLoader/multiprocessing may use locally),
``socket.create_connection`` and ``socket.getaddrinfo``."""
from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

from renovo.cli import main

LIBRARIES = Path(__file__).parent / "data" / "corpus" / "libraries"


class NetworkBlocked(OSError):
    pass


@pytest.fixture()
def no_network(monkeypatch):
    """Refuse and record every network access attempt during the test."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def local(sock) -> bool:
        return getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX

    def connect(self, address, *args):
        if local(self):
            return real_connect(self, address, *args)
        attempts.append(f"socket.connect({address!r})")
        raise NetworkBlocked(f"network access blocked in test: connect {address!r}")

    def connect_ex(self, address, *args):
        if local(self):
            return real_connect_ex(self, address, *args)
        attempts.append(f"socket.connect_ex({address!r})")
        raise NetworkBlocked(f"network access blocked in test: connect_ex {address!r}")

    def create_connection(address, *args, **kwargs):
        attempts.append(f"socket.create_connection({address!r})")
        raise NetworkBlocked(f"network access blocked in test: create_connection {address!r}")

    def getaddrinfo(host, *args, **kwargs):
        attempts.append(f"socket.getaddrinfo({host!r})")
        raise NetworkBlocked(f"network access blocked in test: getaddrinfo {host!r}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert attempts == [], f"renovo reached for the network: {attempts}"


def test_the_block_works(no_network):
    import urllib.request

    with pytest.raises(OSError):
        urllib.request.urlopen("http://example.org", timeout=1)
    assert no_network and "example.org" in no_network[0]
    no_network.clear()


def _mzml(path: Path) -> Path:
    import base64

    import numpy as np

    def array(values, accession, name):
        data = base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode()
        return (f'<binaryDataArray encodedLength="{len(data)}"><cvParam cvRef="MS" accession="MS:1000523" name="64-bit float"/>'
                f'<cvParam cvRef="MS" accession="MS:1000576" name="no compression"/><cvParam cvRef="MS" accession="{accession}" name="{name}"/>'
                f"<binary>{data}</binary></binaryDataArray>")

    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1.0">'
        '<cvList count="1"><cv id="MS" fullName="PSI-MS" URI="https://www.ebi.ac.uk/ols/ontologies/ms"/></cvList>'
        '<run id="r"><spectrumList count="1"><spectrum index="0" id="scan=1" defaultArrayLength="3">'
        '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="2"/>'
        '<precursorList count="1"><precursor><selectedIonList count="1"><selectedIon>'
        '<cvParam cvRef="MS" accession="MS:1000744" name="selected ion m/z" value="500.25"/>'
        '<cvParam cvRef="MS" accession="MS:1000041" name="charge state" value="2"/>'
        '</selectedIon></selectedIonList></precursor></precursorList><binaryDataArrayList count="2">'
        + array([100.0, 200.0, 300.0], "MS:1000514", "m/z array") + array([1.0, 2.0, 3.0], "MS:1000515", "intensity array")
        + "</binaryDataArrayList></spectrum></spectrumList></run></mzML>\n"
    )
    return path


def test_data_commands_offline(no_network, tmp_path, capsys):
    mgf, parquet = tmp_path / "sim.mgf", tmp_path / "sim2.parquet"  # own stems: each has its own .simulate.json
    assert main(["simulate", "-n", "12", "-o", str(mgf), "--seed", "1"]) == 0
    assert main(["simulate", "-n", "12", "-o", str(parquet), "--seed", "2"]) == 0
    mzml = _mzml(tmp_path / "one.mzML")
    converted = tmp_path / "all.parquet"
    assert main(["convert", str(mgf), str(parquet), str(mzml), str(LIBRARIES / "nist_style.msp"),
                 str(LIBRARIES / "spectrast_style.sptxt"), "-o", str(converted)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {12 + 12 + 1 + 8 + 6} spectra" in out
    assert main(["data", "stats", str(mgf), str(converted), str(LIBRARIES / "nist_style.msp"), "--simulate", "5"]) == 0
    assert "spectra" in capsys.readouterr().out


def test_label_notations_offline(no_network):
    from renovo.chem import parse_peptide
    from renovo.data import peprec_to_proforma
    from renovo.data.library import library_label

    expected = "[Acetyl]-PEPC[Carbamidomethyl]M[Oxidation]K"
    for text in (
        expected,
        "[Acetyl]-PEPCM[Oxidation]K",  # fixed Carbamidomethyl on a bare C
        "[UNIMOD:1]-PEPC[UNIMOD:4]M[UNIMOD:35]K",
        "+42.011PEPC+57.021M+15.995K",  # Casanovo's delta notation
        "[+42.0106]-PEPC[+57.0215]M[+15.9949]K",
    ):
        assert parse_peptide(text).proforma == expected, text
    assert parse_peptide("Q[Gln->pyro-Glu]PEPK").proforma == "[Gln->pyro-Glu]-QPEPK"
    assert parse_peptide("N[Deamidated]Q[UNIMOD:7]K").proforma == "N[Deamidated]Q[Deamidated]K"
    assert parse_peptide(peprec_to_proforma("PEPCMK", "0|Acetyl|4|Carbamidomethyl|5|Oxidation")).proforma == expected
    assert parse_peptide(library_label("n[43]PEPC[160]M[147]K/2")[0]).proforma == expected
    assert parse_peptide(library_label("PEPCMK/2", "3/0,P,Acetyl/3,C,CAM/4,M,Oxidation")[0]).proforma == expected
    assert parse_peptide(library_label("PEPCMK/2_3(0,P,Acetyl)(3,C,CAM)(4,M,Oxidation)")[0]).proforma == expected


def _command_exists(name: str) -> bool:
    return importlib.util.find_spec(f"renovo.commands.{name}") is not None


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny model trained for a few steps by `renovo train` (networking blocked inside the test)."""
    if not _command_exists("train"):
        pytest.skip("renovo train not built yet")
    return tmp_path_factory.mktemp("offline_run") / "run"


def test_train_sequence_evaluate_gradients_offline(no_network, trained_run, tmp_path, capsys):
    out = trained_run
    code = main(["train", "--config", "gaussian_losses", "--preset", "tiny", "--max-steps", "3", "--batch-size", "4",
                 "--seed", "0", "--out", str(out), "--no-progress", "--set", "data.val_size=4",
                 "--set", "trainer.val_every_n_steps=3"])
    assert code == 0
    checkpoint = out / "checkpoints" / "last.ckpt"
    assert checkpoint.is_file()

    spectra = tmp_path / "sim.mgf"
    assert main(["simulate", "-n", "4", "-o", str(spectra), "--seed", "5"]) == 0
    if not _command_exists("sequence"):
        pytest.skip("renovo sequence not built yet (train ran offline)")
    predictions = tmp_path / "pred.mztab"
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(predictions), "--beam", "2",
                 "--max-length", "6", "--batch-size", "4", "--device", "cpu"]) == 0
    assert predictions.is_file()
    if _command_exists("evaluate"):
        assert main(["evaluate", str(predictions), "--labels", str(spectra), "-o", str(tmp_path / "eval")]) == 0
        assert (tmp_path / "eval" / "metrics.json").is_file()
    if _command_exists("gradients"):
        assert main(["gradients", "-o", str(tmp_path / "gradients")]) == 0
    missing = [c for c in ("evaluate", "gradients") if not _command_exists(c)]
    if missing:
        pytest.skip(f"not built yet: {', '.join(missing)} (train and sequence ran offline)")

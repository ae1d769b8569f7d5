"""``vault export --bundle``: documents in one encrypted file, opened by the
reference ``age`` command with its passphrase alone and by ``tar -xf``.

The vault holds a family's scan (OCR'd by the real tesseract: an original
PNG and a searchable PDF), a born-digital letter with a canary in its
uncompressed text, a document stored in parts, and another family's letter.
Every bundle is opened with the real ``age -d`` (its passphrase typed at a
pseudo-terminal, ``tests.integration.agecmd``) and the real ``tar``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from click.testing import CliRunner, Result

from tests import scans
from tests.conftest import CANARY, PASSPHRASE, Template, make_pdf
from tests.integration.agecmd import age_path, run_with_passphrase
from vault.cli import cli
from vault.cli.bundle import GIVE_SEPARATELY
from vault.repository import Vault

FAMILY = "F-0042"
OTHER = "F-0007"
PART = 64 * 1024  # 64 MiB in real use: a small part size puts a document in parts
BUNDLE_WORDS = "tulip river kettle drum lantern meadow"


@dataclass(frozen=True)
class Stocked:
    root: Path
    originals: dict[str, bytes]  # document id: the bytes ingested
    scan_id: str
    letter_id: str
    parts_id: str
    other_id: str
    searchable: frozenset[str]  # the documents with a searchable PDF of their own


def run(root: Path, *args: str, **env: str) -> Result:
    environ: dict[str, str | None] = {"VAULT_PASSPHRASE": PASSPHRASE, **env}
    result = CliRunner().invoke(cli, ["--vault", str(root), *args], env=environ)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture(scope="module")
def stocked(template_vault: Template, tmp_path_factory: pytest.TempPathFactory) -> Stocked:
    base = tmp_path_factory.mktemp("bundle")
    root = base / "vault"
    shutil.copytree(template_vault.path, root)
    inbox = base / "inbox"
    inbox.mkdir()
    scan = scans.write_png(inbox / "SCAN0001.png", scans.scan())
    letter = make_pdf(inbox / "letter.pdf", f"Letter about {CANARY} and contact")
    other = make_pdf(inbox / "other.pdf", "Referral for another family")
    for path, family in ((scan, FAMILY), (letter, FAMILY), (other, OTHER)):
        done = run(root, "ingest", str(path), "--family", family, "--keep-source")
        assert done.exit_code == 0, done.output
    large = inbox / "court bundle.pdf"
    large.write_bytes(make_pdf(inbox / "x.pdf", "bundle").read_bytes() + os.urandom(3 * PART + 7))
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.objects.part_size = PART
        vault.store_file(
            large, name=large.name, media_type="application/pdf", family=FAMILY,
            text=["court bundle"], pages=1,
        )  # fmt: skip
        vault.fold_journal()
    listed = json.loads(run(root, "list", "--json").stdout)
    by_name = {row["name"]: row["id"] for row in listed}
    originals = {
        by_name[p.name]: p.read_bytes() for p in (scan, letter, other, large)
    }  # fmt: skip
    ids = [by_name[p.name] for p in (scan, letter, large, other)]
    parts = Vault.open(root)
    with parts.lock:
        parts.unlock(PASSPHRASE)
        assert "," in parts.document(ids[2])["original"], "the large document is not in parts"
        assert parts.document(ids[0])["searchable"], "the scan got no searchable PDF"
        searchable = frozenset(i for i in ids if parts.document(i)["searchable"])
    return Stocked(root, originals, *ids, searchable)


@pytest.fixture
def root(stocked: Stocked, tmp_path: Path) -> Path:
    dest = tmp_path / "vault"
    shutil.copytree(stocked.root, dest)
    return dest


def passphrase_file(folder: Path, text: str = BUNDLE_WORDS) -> Path:
    path = folder / "bundle-passphrase.txt"
    path.write_text(text + "\n")
    return path


def age_open(bundle: Path, passphrase: str, out: Path) -> tuple[int, str]:
    """``age -d -o out bundle``, the passphrase typed at age's prompt."""
    code, output, answered = run_with_passphrase(
        [age_path(), "-d", "-o", str(out), str(bundle)], passphrase, timeout=120
    )
    assert answered == 1, output
    return code, output


def untar(archive: Path, into: Path) -> list[str]:
    """``tar -xf`` (the real command) into ``into``; the names it holds."""
    into.mkdir()
    listed = subprocess.run(
        ["tar", "-tf", str(archive)], capture_output=True, text=True, timeout=60, check=True
    )
    subprocess.run(["tar", "-xf", str(archive), "-C", str(into)], timeout=60, check=True)
    return listed.stdout.splitlines()


def opened(bundle: Path, passphrase: str, work: Path) -> Path:
    """The folder the bundle extracts to, opened with age and tar alone."""
    archive = work / "bundle.tar"
    code, output = age_open(bundle, passphrase, archive)
    assert code == 0, output
    names = untar(archive, work / "opened")
    top = {name.split("/")[0] for name in names}
    assert len(top) == 1, names  # one folder: nothing spills beside it
    assert all(".." not in name.split("/") and not name.startswith("/") for name in names)
    return work / "opened" / top.pop()


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_bundle_of_two_ids_opens_with_age_and_tar(
    stocked: Stocked, root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "desk" / "court.age"
    out.parent.mkdir()
    result = run(
        root, "export", stocked.scan_id, stocked.letter_id, "--bundle", str(out),
        "--bundle-passphrase-file", str(passphrase_file(tmp_path)), "--purpose", "court",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert GIVE_SEPARATELY not in result.output  # given, so not printed
    assert BUNDLE_WORDS not in result.output
    pair = (stocked.scan_id, stocked.letter_id)
    files_count = 2 + len(stocked.searchable & set(pair))
    assert f"Wrote 2 documents ({files_count} files)" in result.output
    assert list(out.parent.iterdir()) == [out]
    assert out.stat().st_mode & 0o777 == 0o600
    blob = out.read_bytes()
    assert blob.startswith(b"age-encryption.org/v1\n-> scrypt ")
    assert CANARY.encode() not in blob

    folder = opened(out, BUNDLE_WORDS, tmp_path)
    assert folder.name == "court"
    files = files_of(folder)
    originals = {n: b for n, b in files.items() if n != "index.html" and "(searchable)" not in n}
    assert sorted(originals.values()) == sorted(
        stocked.originals[i] for i in (stocked.scan_id, stocked.letter_id)
    )  # byte for byte
    assert {n.split(" ")[0] for n in originals} == {stocked.scan_id, stocked.letter_id}
    scan_name = next(n for n in originals if n.startswith(stocked.scan_id))
    assert scan_name.endswith(".png") and files[scan_name] == stocked.originals[stocked.scan_id]
    searchable = sorted(n for n in files if "(searchable)" in n)
    assert [n.split(" ")[0] for n in searchable] == sorted(stocked.searchable & set(pair))
    assert len(files) == files_count + 1  # and the index
    for name in searchable:
        with pikepdf.open(folder / name) as pdf:
            assert len(pdf.pages) == 1
            assert name.endswith(".pdf")
    index = files["index.html"].decode()
    for name in files:
        if name != "index.html":
            assert name.replace("&", "&amp;") in index
    for doc_id in (stocked.scan_id, stocked.letter_id):
        assert doc_id in index
    assert FAMILY in index and stocked.other_id not in index


def test_a_family_bundle_with_a_made_passphrase(
    stocked: Stocked, root: Path, tmp_path: Path
) -> None:
    """--family takes every document of the family (one of them in parts),
    none of another's; the passphrase is made, printed once, and opens it;
    a wrong one does not."""
    result = run(root, "export", "--family", "f-42", "--bundle", str(tmp_path / "records"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "records.age"  # .age added, and said
    assert out.is_file() and "named records.age" in result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(GIVE_SEPARATELY)]
    assert len(lines) == 1, result.stdout
    assert result.output.count(GIVE_SEPARATELY) == 1  # once
    made = lines[0][len(GIVE_SEPARATELY) :].strip()
    assert len(made.split(" ")) == 6 and made.replace(" ", "").isalpha()

    code, output = age_open(out, made.replace("lantern", "x") + "x", tmp_path / "wrong.tar")
    assert code != 0, output
    assert not (tmp_path / "wrong.tar").exists() or not (tmp_path / "wrong.tar").stat().st_size

    folder = opened(out, made, tmp_path)
    assert folder.name == "records"
    files = files_of(folder)
    family = (stocked.scan_id, stocked.letter_id, stocked.parts_id)
    originals = [b for n, b in files.items() if n != "index.html" and "(searchable)" not in n]
    assert sorted(originals) == sorted(stocked.originals[i] for i in family)
    assert not any(n.startswith(stocked.other_id) for n in files)
    searchable = {n.split(" ")[0] for n in files if "(searchable)" in n}
    assert searchable == stocked.searchable & set(family)
    assert len(files) == 3 + len(searchable) + 1  # and the index
    index = files["index.html"].decode()
    assert all(i in index for i in family) and stocked.other_id not in index

    desk = tmp_path / "desk"
    desk.mkdir()
    again = run(root, "export", "--family", "F-42", "--bundle", str(desk))  # a folder
    assert again.exit_code == 0, again.output
    assert made not in again.output  # a new passphrase for each bundle
    (second,) = desk.iterdir()
    assert second.name.startswith(f"{FAMILY}-20") and second.name.endswith(".age")
    assert f"to {second}" in again.output


def test_a_bundle_is_recorded_as_encrypted_and_is_no_readable_copy(
    stocked: Stocked, root: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    import vault.paths

    stick = tmp_path / "stick"
    stick.mkdir()
    monkeypatch.setattr(vault.paths, "REMOVABLE_PLACES", (str(stick),))
    result = run(
        root, "export", "--family", FAMILY, "--bundle", str(stick / "Finch family.age"),
        "--purpose", "subject-access",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output  # encrypted: what the policy asks
    made = result.stdout.split(GIVE_SEPARATELY)[1].split("\n")[0].strip()

    listed = json.loads(run(root, "exports", "--json").stdout)
    assert len(listed) == 1
    record = listed[0]
    family = [stocked.scan_id, stocked.letter_id, stocked.parts_id]
    assert sorted(record["ids"]) == sorted(family) and record["documents"] == 3
    assert (record["version"], record["to"], record["reason"], record["encrypted"]) == (
        "bundle", "removable drive", "subject-access", True,
    )  # fmt: skip
    text = run(root, "exports").output
    assert "bundle of 3 documents" in text and "encrypted" in text and "NOT" not in text
    assert "Finch" not in text and str(tmp_path) not in text

    audit = (root / "audit.log").read_text()
    assert all(i in audit for i in family) and '"encrypted":true' in audit
    state = Path(os.environ["XDG_STATE_HOME"])
    for folder in (root, state):  # the passphrase is kept nowhere, nor the file's name
        for path in (p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            assert made.encode() not in data and b"Finch" not in data, path

    assert json.loads(run(root, "copies", "--json").stdout) == []
    status = run(root, "status", "--json")
    assert json.loads(status.stdout)["readable_copies"]["export"] == 0
    plain = run(root, "export", stocked.letter_id, "--out", str(stick / "letter.pdf"))
    assert plain.exit_code == 0 and "warning" in plain.output and "--bundle" in plain.output
    status = run(root, "status", "--json")
    assert json.loads(status.stdout)["readable_copies"]["export"] == 1  # this one is


def test_no_plaintext_is_left_anywhere(stocked: Stocked, root: Path, tmp_path: Path) -> None:
    """In a process of its own, its temp and tmpfs folders looked into: after
    the bundle, no file in them, the vault or beside the bundle holds the
    canary, nor does the bundle."""
    work = tmp_path / "work"
    work.mkdir()
    desk = tmp_path / "desk"
    desk.mkdir()
    env = dict(os.environ, VAULT_PASSPHRASE=PASSPHRASE, PYTHONDONTWRITEBYTECODE="1")
    env["TMPDIR"] = env["XDG_RUNTIME_DIR"] = str(work)
    done = subprocess.run(
        [sys.executable, "-m", "vault.cli", "--vault", str(root), "export", stocked.letter_id,
         stocked.scan_id, "--bundle", str(desk / "letter.age"),
         "--bundle-passphrase-file", str(passphrase_file(tmp_path))],
        capture_output=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [p.name for p in desk.iterdir()] == ["letter.age"]
    assert [p for p in work.rglob("*") if p.is_file()] == []
    state = Path(os.environ["XDG_STATE_HOME"])
    for folder in (root, work, desk, state):
        assert [
            p for p in folder.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()
        ] == []
    # the canary is there, inside: the search above could have found it
    folder = opened(desk / "letter.age", BUNDLE_WORDS, tmp_path)
    assert any(CANARY.encode() in p.read_bytes() for p in folder.iterdir())


def test_exit_statuses(stocked: Stocked, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.age"
    unknown_family = run(root, "export", "--family", "F-9999", "--bundle", str(out))
    assert unknown_family.exit_code == 1
    assert "no documents of family F-9999" in unknown_family.output
    malformed = run(root, "export", "--family", "Smith", "--bundle", str(out))
    assert malformed.exit_code == 2, malformed.output
    unknown_id = run(root, "export", stocked.letter_id, "D-ZZZZZZ", "--bundle", str(out))
    assert unknown_id.exit_code == 1 and "no document D-ZZZZZZ" in unknown_id.output
    assert not out.exists()

    out.write_bytes(b"already here")
    exists = run(root, "export", stocked.letter_id, "--bundle", str(out))
    assert exists.exit_code == 2 and "already exists" in exists.output
    assert out.read_bytes() == b"already here"
    assert GIVE_SEPARATELY not in exists.output
    forced = run(root, "export", stocked.letter_id, "--bundle", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n")

    usage = {
        "--out and --bundle": [stocked.letter_id, "--out", str(tmp_path / "x.pdf"),
                               "--bundle", str(tmp_path / "y.age")],
        "--searchable is for --out": [stocked.scan_id, "--searchable", "--bundle",
                                      str(tmp_path / "y.age")],
        "not both": [stocked.scan_id, "--family", FAMILY, "--bundle", str(tmp_path / "y.age")],
        "needs the documents": ["--bundle", str(tmp_path / "y.age")],
        "--out writes one document, not 2": [stocked.scan_id, stocked.letter_id,
                                            "--out", str(tmp_path / "x.pdf")],
        "--family is for --bundle": ["--family", FAMILY, "--out", str(tmp_path / "x.pdf")],
        "say where to write": [stocked.scan_id],
    }  # fmt: skip
    for message, args in usage.items():
        refused = run(root, "export", *args)
        assert refused.exit_code == 2, (message, refused.output)
        assert message in refused.output, refused.output
        assert len(refused.output.strip().splitlines()) <= 2, refused.output
    assert not (tmp_path / "y.age").exists() and not (tmp_path / "x.pdf").exists()

    weak = run(root, "export", stocked.letter_id, "--bundle", str(tmp_path / "y.age"),
               "--bundle-passphrase-file", str(passphrase_file(tmp_path, "password1")))  # fmt: skip
    assert weak.exit_code == 2 and "passphrase refused" in weak.output
    same = run(root, "export", stocked.letter_id, "--bundle", str(tmp_path / "y.age"),
               "--bundle-passphrase-file", str(passphrase_file(tmp_path, PASSPHRASE)))  # fmt: skip
    assert same.exit_code == 2 and "the vault's passphrase" in same.output
    assert PASSPHRASE not in same.output
    assert not (tmp_path / "y.age").exists()
    assert len(json.loads(run(root, "exports", "--json").stdout)) == 1  # the forced one only

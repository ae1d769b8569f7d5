"""``vault rotate`` end to end: a vault of born-digital letters, a scan with
its searchable PDF and a large document stored in parts gets a new data key.

Afterwards every document exports byte for byte as stored, search and the
list are unchanged, verify is clean, and the reference ``age`` command shows
that the old data key (from the old passphrase, the old emergency key or a
leaver's copied key file) opens no file of the vault while the new one opens
every object, manifest and catalog file. A rotation killed (SIGKILL, at each
checkpoint of ``VAULT_TEST_ROTATE_STOP_AT``) resumes with nothing lost or
doubled; post stored meanwhile ends up under the new key; a wrong or weak
passphrase or a wrong kept key writes nothing.

Key files are written at the tests' low scrypt cost (see conftest): in this
process by ``cheap_keys``, in the killed processes by the same patch given
to ``python -c`` (``CHEAP_VAULT``) before the real CLI's ``main`` runs.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from tests.conftest import PASSPHRASE, TEST_WORK_FACTOR, Template, make_pdf
from tests.integration.agecmd import (
    AgeCommandError,
    age_decrypt_with_identity,
    write_identity_file,
)
from vault import clock, rotation, scrypt_file
from vault.cli import cli
from vault.keys import KeyPaths, unlock_file, unlock_with_passphrase, vault_id_of
from vault.repository import Vault
from vault.rotation import STOP_AT

NEW = "Brand New Key 93"
DEPUTY = "Deputy Stays 77"
CHAIR = "Chair Person 31"
SECRETS = (PASSPHRASE, NEW, DEPUTY, CHAIR)
PART = 64 * 1024  # 64 MiB in real use
WORD = "Przybylski"

CHEAP_VAULT = (
    "import functools, sys\n"
    "from vault import scrypt_file\n"
    "scrypt_file.encrypt = functools.partial("
    f"scrypt_file.encrypt, work_factor={TEST_WORK_FACTOR})\n"
    "from vault.cli import main\n"
    "sys.argv[0] = 'vault'\n"
    "main()\n"
)


@pytest.fixture(autouse=True)
def cheap_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key files written in this process at the tests' scrypt cost (see conftest)."""
    monkeypatch.setattr(
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )
    monkeypatch.delenv("VAULT_PASSPHRASE", raising=False)
    monkeypatch.delenv("VAULT_NEW_PASSPHRASE", raising=False)
    monkeypatch.delenv(STOP_AT, raising=False)


def run(root: Path, *args: str, passphrase: str | None = PASSPHRASE, **env: str) -> Result:
    """``vault --vault root ARGS`` in this process; the passphrase in the environment."""
    environ: dict[str, str | None] = {"VAULT_PASSPHRASE": passphrase, **env}
    result = CliRunner().invoke(cli, ["--vault", str(root), *args], env=environ)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for secret in SECRETS:
        assert secret not in result.output
    assert "AGE-SECRET-KEY" not in result.output.upper()
    return result


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rotate(root: Path, sheet: Path, *args: str, passphrase: str = PASSPHRASE) -> Result:
    """``vault rotate`` to the new passphrase ``NEW``, the new sheet at ``sheet``."""
    return run(
        root, "rotate", "--emergency-sheet", str(sheet), *args,
        passphrase=passphrase, VAULT_NEW_PASSPHRASE=NEW,
    )  # fmt: skip


def rotate_killed_at(root: Path, tmp_path: Path, point: str, *args: str) -> None:
    """``vault rotate`` in a process of its own, SIGKILLed at checkpoint ``point``."""
    killed = vault_process(
        root, "rotate", "--quiet", "--emergency-sheet", str(tmp_path / "sheet.pdf"), *args,
        VAULT_PASSPHRASE=PASSPHRASE, VAULT_NEW_PASSPHRASE=NEW, **{STOP_AT: point},
    )  # fmt: skip
    assert killed.returncode == -9, (killed.returncode, killed.stderr)


def vault_process(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a process of its own (one a checkpoint may kill)."""
    environ = {**os.environ, **env}
    done = subprocess.run(
        [sys.executable, "-c", CHEAP_VAULT, "--vault", str(root), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


# --- the vault rotated by every test ------------------------------------------------


@dataclass(frozen=True)
class Filled:
    path: Path  # the vault before any rotation (tests copy it)
    originals: dict[str, bytes]  # document id -> the file as stored
    searchable: dict[str, bytes]  # document id -> its searchable PDF (the scan)
    listing: list[dict[str, Any]]  # `vault list --json`
    found: dict[str, list[str]]  # query -> ids `vault search --json` gives, in order
    files: set[str]  # names of the objects and manifests before the rotation
    emergency_secret: str  # the emergency key printed by `vault init`


QUERIES = (WORD, "court", "contact arrangements")


def searched(root: Path, passphrase: str) -> dict[str, list[str]]:
    return {
        query: [
            d["id"] for d in as_json(run(root, "search", query, "--json", passphrase=passphrase))
        ]
        for query in QUERIES
    }


def stored_files(root: Path) -> set[str]:
    """The names of every object and manifest file in the vault folder."""
    return {
        p.name
        for store in ("objects", "manifests")
        for p in (root / store).rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def filled(template_vault: Template, tmp_path_factory: pytest.TempPathFactory) -> Filled:
    base = tmp_path_factory.mktemp("rotate")
    root = base / "vault"
    shutil.copytree(template_vault.path, root)
    inbox = base / "inbox"
    inbox.mkdir()
    letters = {
        "referral.pdf": f"Referral {WORD} contact arrangements",
        "order.pdf": f"Court order {WORD} {WORD} court hearing",
    }
    for name, text in letters.items():  # born digital: ingest keeps their own text
        ingested = run(root, "ingest", str(make_pdf(inbox / name, text)))
        assert ingested.exit_code == 0, ingested.output
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        scan = inbox / "SCAN0001.jpg"
        Image.new("RGB", (60, 40), "white").save(scan, "JPEG")
        pdf = make_pdf(inbox / "SCAN0001.pdf", f"School letter {WORD}")
        vault.store_file(
            scan, name=scan.name, media_type="image/jpeg", searchable=pdf,
            text=[f"School letter about {WORD}"], pages=1,
        )  # fmt: skip
        vault.objects.part_size = PART
        large = inbox / "bundle.pdf"
        large.write_bytes(
            make_pdf(inbox / "x.pdf", "bundle").read_bytes() + os.urandom(3 * PART + 7)
        )
        vault.store_file(
            large, name=large.name, media_type="application/pdf",
            text=[f"court bundle {WORD} {WORD} {WORD}", "contact arrangements"],
        )  # fmt: skip
        vault.fold_journal()
    listing = as_json(run(root, "list", "--json"))
    assert len(listing) == 4
    by_name = {d["name"]: d["id"] for d in listing}
    originals = {
        by_name[p.name]: p.read_bytes() for p in (*map(inbox.joinpath, letters), scan, large)
    }
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        rows = {row["id"]: row for row in vault.documents()}
    assert len(rows[by_name["bundle.pdf"]]["original"].split(",")) == 4  # in parts
    found = searched(root, PASSPHRASE)
    assert len(found[WORD]) == 4 and len(found["court"]) >= 2
    return Filled(
        root, originals, {by_name[scan.name]: pdf.read_bytes()}, listing, found,
        stored_files(root), template_vault.emergency_secret,
    )  # fmt: skip


@pytest.fixture
def vault_dir(filled: Filled, tmp_path: Path) -> Path:
    dest = tmp_path / "vault"
    shutil.copytree(filled.path, dest)
    return dest


def exported(root: Path, passphrase: str, out: Path) -> dict[str, bytes]:
    """Every document exported by the CLI, as stored: id -> bytes (scans also
    their searchable PDF, under ``ID.pdf``)."""
    out.mkdir(parents=True, exist_ok=True)
    got = {}
    for doc in as_json(run(root, "list", "--json", passphrase=passphrase)):
        target = out / f"{doc['id']}-{doc['name']}"  # (a name of its type: kept as given)
        done = run(
            root, "export", doc["id"], "--original", "--out", str(target), passphrase=passphrase
        )
        assert done.exit_code == 0, done.output
        got[doc["id"]] = target.read_bytes()
        if doc["media_type"].startswith("image/"):
            target = out / f"{doc['id']}-searchable.pdf"
            done = run(root, "export", doc["id"], "--searchable", "--out", str(target),
                       passphrase=passphrase)  # fmt: skip
            assert done.exit_code == 0, done.output
            got[f"{doc['id']}.pdf"] = target.read_bytes()
    return got


def expected(filled: Filled) -> dict[str, bytes]:
    return {**filled.originals, **{f"{k}.pdf": v for k, v in filled.searchable.items()}}


def referenced(root: Path, passphrase: str) -> set[str]:
    """The objects and manifests the catalog names."""
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock(passphrase)
        names = set()
        for row in vault.documents():
            names.add(row["manifest"])
            for ref in (row["original"], row["searchable"] or ""):
                names |= {i for i in ref.split(",") if i}
    return names


def assert_whole(
    root: Path, filled: Filled, out: Path, more: dict[str, bytes] | None = None
) -> None:
    """After a rotation to ``NEW``: every document exports as stored (``more``:
    documents stored during it), nothing doubled, verify clean, the work folder
    gone, and no old object or manifest left (each moved once)."""
    assert not (root / "rotation").exists()
    want = {**expected(filled), **(more or {})}
    assert exported(root, NEW, out) == want
    listing = as_json(run(root, "list", "--json", passphrase=NEW))
    assert len(listing) == len(filled.listing) + len(more or {})
    assert [d for d in listing if d["id"] in filled.originals] == filled.listing
    for args in (("verify",), ("audit", "verify")):
        checked = run(root, *args, passphrase=NEW)
        assert checked.exit_code == 0, (args, checked.output)
    files = stored_files(root)
    assert files == referenced(root, NEW)
    assert not files & filled.files  # every old one removed
    if more is None:
        assert len(files) == len(filled.files)  # each object and manifest moved once


# --- the keys, with the real age command -----------------------------------------------


def data_secret(root: Path, passphrase: str) -> str:
    """The data key's secret that ``passphrase`` unwraps from keys/passphrase.age."""
    return unlock_with_passphrase(KeyPaths(root / "keys"), passphrase).secret


def identity(folder: Path, name: str, secret: str) -> Path:
    return write_identity_file(folder / name, secret)


def age_opens(path: Path, identity_file: Path) -> bool:
    try:
        age_decrypt_with_identity(path, identity_file)
    except AgeCommandError as exc:
        assert exc.returncode is not None, exc  # failed, not timed out
        return False
    return True


def every_file(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def age_files(root: Path) -> list[Path]:
    """Every object, manifest and catalog snapshot: all age files to the data key."""
    found = [
        p for store in ("objects", "manifests") for p in (root / store).rglob("*") if p.is_file()
    ]
    found += sorted((root / "catalog").glob("*.age"))
    assert len(found) > 10
    return found


def sheet_key(sheet: Path) -> str:
    """The emergency key as printed on the sheet (in groups: spaces taken out)."""
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(sheet), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    found = re.findall(r"AGE-SECRET-KEY-1[0-9A-Z]{58}", re.sub(r"\s+", "", text))
    assert len(set(found)) == 1, "no single key on the sheet"
    return found[0]


def audit(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "audit.log").read_text().splitlines()]


# --- 1 and 2: a rotation -----------------------------------------------------------------


def test_a_rotation_keeps_every_document_search_and_verify(
    filled: Filled, vault_dir: Path, tmp_path: Path
) -> None:
    old_id = json.loads((vault_dir / "config.json").read_text())["vault_id"]
    result = rotate(vault_dir, tmp_path / "sheet.pdf")
    assert result.exit_code == 0, result.output
    new_id = vault_id_of((vault_dir / "keys" / "data.pub").read_text().strip())
    assert new_id != old_id
    assert "Key rotated: 4 documents are under the new key." in result.stdout
    assert f"Old key {old_id}, new key {new_id}" in result.stdout
    assert "Keys kept: coordinator." in result.stdout
    assert (tmp_path / "sheet.pdf").read_bytes().startswith(b"%PDF")

    assert_whole(vault_dir, filled, tmp_path / "out")
    assert searched(vault_dir, NEW) == filled.found
    assert as_json(run(vault_dir, "list", "--json", passphrase=NEW)) == filled.listing

    # The audit log names both keys by their 16-hex id, and holds no key material.
    entries = audit(vault_dir)
    events = [e["event"] for e in entries]
    assert events.count("rotate-start") == 1 and events.count("rotate") == 1
    assert events.index("rotate-start") < events.index("rotate")
    for entry in entries:
        if entry["event"] in ("rotate-start", "rotate"):
            assert entry["detail"]["old"] == old_id and entry["detail"]["new"] == new_id
            assert re.fullmatch("[0-9a-f]{16}", entry["detail"]["new"])
    assert next(e for e in entries if e["event"] == "rotate")["detail"]["documents"] == 4
    log = (vault_dir / "audit.log").read_text()
    new_emergency = sheet_key(tmp_path / "sheet.pdf")
    secrets = (data_secret(vault_dir, NEW), filled.emergency_secret, new_emergency, *SECRETS)
    for secret in (*secrets, "AGE-SECRET-KEY"):
        assert secret.upper() not in log.upper()

    # Duplicates are still found: the fingerprints are under the new key.
    again = run(
        vault_dir, "ingest", str(filled.path.parent / "inbox" / "order.pdf"), passphrase=NEW
    )
    assert again.exit_code == 0, again.output
    assert len(as_json(run(vault_dir, "list", "--json", passphrase=NEW))) == 4


def test_the_old_keys_open_nothing_and_the_new_ones_everything(
    filled: Filled, vault_dir: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "identities"
    keys.mkdir()
    old_data = identity(keys, "old-data", data_secret(vault_dir, PASSPHRASE))
    old_emergency = identity(keys, "old-emergency", filled.emergency_secret)
    assert age_opens(vault_dir / "keys" / "emergency.age", old_emergency)  # (until the rotation)
    assert all(age_opens(p, old_data) for p in age_files(vault_dir))
    old_keys = tmp_path / "old-keys"
    shutil.copytree(vault_dir / "keys", old_keys)
    sheet = tmp_path / "sheet.pdf"
    assert rotate(vault_dir, sheet).exit_code == 0

    refused = run(vault_dir, "list")
    assert refused.exit_code == 3, refused.output
    assert refused.output.count("wrong passphrase") == 1
    new_file = (vault_dir / "keys" / "passphrase.age").read_bytes()
    shutil.copy(old_keys / "passphrase.age", vault_dir / "keys")  # an old copy put back
    put_back = run(vault_dir, "list")
    assert put_back.exit_code == 3, put_back.output
    (vault_dir / "keys" / "passphrase.age").write_bytes(new_file)
    old_key_file = tmp_path / "old-emergency.txt"
    old_key_file.write_text(filled.emergency_secret + "\n")
    by_old_sheet = run(vault_dir, "list", "--emergency-key", str(old_key_file), "--reason", "test",
                       passphrase=None)  # fmt: skip
    assert by_old_sheet.exit_code == 3, by_old_sheet.output

    files = every_file(vault_dir)
    assert any(p.parts[-2] == "keys" for p in files) and any("catalog" in p.parts for p in files)
    opened = [p for p in files if age_opens(p, old_data) or age_opens(p, old_emergency)]
    assert opened == []

    new_secret = data_secret(vault_dir, NEW)
    new_data = identity(keys, "new-data", new_secret)
    assert [p for p in age_files(vault_dir) if not age_opens(p, new_data)] == []
    new_emergency = identity(keys, "new-emergency", sheet_key(sheet))
    assert age_decrypt_with_identity(vault_dir / "keys" / "emergency.age", new_emergency).decode(
    ).strip() == new_secret  # fmt: skip
    by_new_sheet = run(vault_dir, "list", "--emergency-key", str(sheet), "--reason", "test",
                       passphrase=None)  # fmt: skip
    assert by_new_sheet.exit_code == 0, by_new_sheet.output


# --- 3: killed at each checkpoint, resumed ----------------------------------------------------

BEFORE_SWITCH = ("begun", "moved:1", "catalog")
SWITCH = ("switching", "switch:keys", "switch:head", "switch:removed")


@pytest.mark.parametrize("point", [*BEFORE_SWITCH, *SWITCH])
def test_a_killed_rotation_resumes(
    filled: Filled, vault_dir: Path, tmp_path: Path, point: str
) -> None:
    rotate_killed_at(vault_dir, tmp_path, point)
    assert (vault_dir / "rotation").is_dir()
    if point in BEFORE_SWITCH:
        # Until the switch the vault is the old one, whole: the new passphrase opens
        # nothing yet; the old one reads, and resumes.
        assert run(vault_dir, "list", passphrase=NEW).exit_code == 3
        assert as_json(run(vault_dir, "list", "--json")) == filled.listing
        resumed = run(vault_dir, "rotate")
        assert resumed.exit_code == 0, resumed.output
        assert "Going on with the key rotation begun" in resumed.output
        assert "Key rotated: 4 documents are under the new key." in resumed.stdout
    else:
        # Any command that takes the lock completes the switch first.
        assert as_json(run(vault_dir, "list", "--json", passphrase=NEW)) == filled.listing
        assert run(vault_dir, "list").exit_code == 3
    assert_whole(vault_dir, filled, tmp_path / "out")
    assert searched(vault_dir, NEW) == filled.found
    events = [e["event"] for e in audit(vault_dir)]
    assert events.count("rotate-start") == 1 and events.count("rotate") == 1
    new_data = identity(tmp_path, "new-data", data_secret(vault_dir, NEW))
    assert all(age_opens(p, new_data) for p in age_files(vault_dir))


@pytest.mark.parametrize("point", SWITCH)
def test_rotate_run_again_with_the_old_passphrase_after_a_switch_cut_short_finishes_it(
    filled: Filled, vault_dir: Path, tmp_path: Path, point: str
) -> None:
    """'vault rotate' run again as after any crash, with the same (old)
    passphrase: the switch is finished with no key, and the command says so
    and succeeds, rather than refusing the passphrase the switch retired."""
    rotate_killed_at(vault_dir, tmp_path, point)
    resumed = rotate(vault_dir, tmp_path / "sheet-2.pdf")
    assert resumed.exit_code == 0, resumed.output
    assert "The key rotation is finished. Run 'vault sync' now." in resumed.stdout
    assert "error" not in resumed.output
    assert not (tmp_path / "sheet-2.pdf").exists()
    assert_whole(vault_dir, filled, tmp_path / "out")


def test_a_torn_progress_line_moves_that_document_again(
    filled: Filled, vault_dir: Path, tmp_path: Path
) -> None:
    """Killed while noting the second document moved: its line is torn, so the
    document is moved again, and the copy made before the kill is removed."""
    rotate_killed_at(vault_dir, tmp_path, "moved:2")
    progress = vault_dir / "rotation" / "moved.jsonl"
    lines = progress.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2
    progress.write_bytes(lines[0] + lines[1][: len(lines[1]) // 2])
    orphans = {*json.loads(lines[1])["objects"]}
    assert orphans <= stored_files(vault_dir)
    assert run(vault_dir, "rotate").exit_code == 0
    assert not orphans & stored_files(vault_dir)
    assert_whole(vault_dir, filled, tmp_path / "out")


# --- 4: post stored while the documents move ------------------------------------------------


def two_letters(folder: Path) -> tuple[Path, Path]:
    folder.mkdir()
    locked = make_pdf(folder / "locked.pdf", "Letter stored without the passphrase")
    unlocked = make_pdf(folder / "unlocked.pdf", "Letter stored with the old passphrase")
    return locked, unlocked


def assert_under_the_new_key(
    filled: Filled, vault_dir: Path, tmp_path: Path, post: Path, old_secret: str
) -> None:
    """The two letters of ``post`` are in the vault, each file of theirs opened
    by the new data key (the reference age command) and not by the old one."""
    new = [d for d in as_json(run(vault_dir, "list", "--json", passphrase=NEW))
           if d["id"] not in filled.originals]  # fmt: skip
    assert sorted(d["name"] for d in new) == ["locked.pdf", "unlocked.pdf"]
    more = {d["id"]: (post / d["name"]).read_bytes() for d in new}
    assert_whole(vault_dir, filled, tmp_path / "out", more)
    old_data = identity(tmp_path, "old-data", old_secret)
    new_data = identity(tmp_path, "new-data", data_secret(vault_dir, NEW))
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(NEW)
        rows = [vault.document(doc_id) for doc_id in more]
    for row in rows:
        for object_id in (row["original"], row["manifest"]):
            found = list(vault_dir.glob(f"*/{object_id[:2]}/{object_id}"))
            assert len(found) == 1
            assert age_opens(found[0], new_data) and not age_opens(found[0], old_data)


@pytest.mark.parametrize("point", ["moved:1", "catalog"])
def test_post_stored_after_a_rotation_was_cut_short_is_moved_too(
    filled: Filled, vault_dir: Path, tmp_path: Path, point: str
) -> None:
    rotate_killed_at(vault_dir, tmp_path, point)
    old_secret = data_secret(vault_dir, PASSPHRASE)
    locked, unlocked = two_letters(tmp_path / "post")
    stored = run(vault_dir, "ingest", str(locked), passphrase=None)
    assert stored.exit_code == 0, stored.output
    stored = run(vault_dir, "ingest", str(unlocked))
    assert stored.exit_code == 0, stored.output
    assert run(vault_dir, "rotate").exit_code == 0
    assert_under_the_new_key(filled, vault_dir, tmp_path, tmp_path / "post", old_secret)


def test_post_stored_while_the_documents_move_is_moved_too(
    filled: Filled, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rotation lets go of the lock while the documents move: other
    processes store meanwhile (into the journal without the passphrase, into
    the catalog with the old one)."""
    old_secret = data_secret(vault_dir, PASSPHRASE)
    locked, unlocked = two_letters(tmp_path / "post")
    real_move, calls = rotation.move, []

    def move_while_storing(*args: Any, **kwargs: Any) -> int:
        moved = real_move(*args, **kwargs)
        calls.append(moved)
        if len(calls) == 1:  # (the second: what is left, under the lock)
            for letter, passphrase in ((unlocked, PASSPHRASE), (locked, "")):
                stored = vault_process(
                    vault_dir, "ingest", str(letter), VAULT_PASSPHRASE=passphrase
                )
                assert stored.returncode == 0, stored.stderr
        return moved

    monkeypatch.setattr(rotation, "move", move_while_storing)
    result = rotate(vault_dir, tmp_path / "sheet.pdf")
    assert result.exit_code == 0, result.output
    assert "Key rotated: 6 documents are under the new key." in result.stdout
    assert len(calls) == 2 and calls[1] > 0  # the two letters moved under the lock
    assert_under_the_new_key(filled, vault_dir, tmp_path, tmp_path / "post", old_secret)


# --- 5: someone leaves ------------------------------------------------------------------


def add_key(root: Path, label: str, passphrase: str) -> None:
    added = run(root, "key", "add", label, VAULT_NEW_PASSPHRASE=passphrase)
    assert added.exit_code == 0, added.output


def test_a_leavers_key_opens_nothing_after_the_rotation(
    filled: Filled, vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "deputy", DEPUTY)
    assert run(vault_dir, "list", passphrase=DEPUTY).exit_code == 0
    copied = tmp_path / "deputy-copy.age"  # taken home before leaving
    shutil.copy(vault_dir / "keys" / "people" / "deputy.age", copied)
    removed = run(vault_dir, "key", "remove", "deputy", "--yes")
    assert removed.exit_code == 0, removed.output
    assert run(vault_dir, "list", passphrase=DEPUTY).exit_code == 3
    leaked = unlock_file(copied, KeyPaths(vault_dir / "keys"), DEPUTY).secret
    leaked_identity = identity(tmp_path, "leaked", leaked)
    assert all(age_opens(p, leaked_identity) for p in age_files(vault_dir))  # before: everything

    result = rotate(vault_dir, tmp_path / "sheet.pdf")
    assert result.exit_code == 0, result.output
    assert run(vault_dir, "list", passphrase=DEPUTY).exit_code == 3
    (vault_dir / "keys" / "people").mkdir(exist_ok=True)
    shutil.copy(copied, vault_dir / "keys" / "people" / "deputy.age")  # put back: still nothing
    assert run(vault_dir, "list", passphrase=DEPUTY).exit_code == 3
    (vault_dir / "keys" / "people" / "deputy.age").unlink()
    assert [p for p in every_file(vault_dir) if age_opens(p, leaked_identity)] == []
    assert_whole(vault_dir, filled, tmp_path / "out")


def test_kept_keys_open_with_the_same_passphrase_the_others_are_removed(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "deputy", DEPUTY)
    add_key(vault_dir, "chair", CHAIR)
    keep = tmp_path / "deputy.txt"
    keep.write_text(DEPUTY + "\n")
    result = rotate(vault_dir, tmp_path / "sheet.pdf", "--keep-key", f"deputy={keep}")
    assert result.exit_code == 0, result.output
    assert "Keys kept: coordinator, deputy." in result.stdout
    assert "Keys removed: chair (their holders need a new key" in result.stdout
    assert "the personal key 'chair' will be removed (no --keep-key)" in result.stderr
    assert run(vault_dir, "list", passphrase=DEPUTY).exit_code == 0
    assert run(vault_dir, "list", passphrase=CHAIR).exit_code == 3
    assert not (vault_dir / "keys" / "people" / "chair.age").exists()
    listed = as_json(run(vault_dir, "key", "list", "--json", passphrase=None))
    assert [k["label"] for k in listed] == ["coordinator", "deputy"]
    deputy = unlock_file(vault_dir / "keys" / "people" / "deputy.age", KeyPaths(vault_dir / "keys"),
                         DEPUTY)  # fmt: skip
    assert deputy.secret == data_secret(vault_dir, NEW)


def test_a_deputy_or_the_emergency_key_can_rotate(
    filled: Filled, vault_dir: Path, tmp_path: Path
) -> None:
    """Any key opens ``vault rotate``: the deputy's keeps its passphrase; after
    the sealed emergency key, the coordinator's new passphrase opens."""
    add_key(vault_dir, "deputy", DEPUTY)
    by_deputy = rotate(vault_dir, tmp_path / "sheet-1.pdf", passphrase=DEPUTY)
    assert by_deputy.exit_code == 0, by_deputy.output
    assert "Keys kept: coordinator, deputy." in by_deputy.stdout
    assert run(vault_dir, "list", passphrase=DEPUTY).exit_code == 0
    assert run(vault_dir, "list").exit_code == 3

    key_file = tmp_path / "emergency.txt"
    key_file.write_text(sheet_key(tmp_path / "sheet-1.pdf") + "\n")
    by_sheet = run(
        vault_dir, "rotate", "--emergency-sheet", str(tmp_path / "sheet-2.pdf"),
        "--emergency-key", str(key_file), "--reason", "coordinator left",
        passphrase=None, VAULT_NEW_PASSPHRASE="Second New Key 48",
    )  # fmt: skip
    assert by_sheet.exit_code == 0, by_sheet.output
    assert "Keys kept: coordinator." in by_sheet.stdout
    # A rotation does more than the usual next steps after the emergency key:
    # not told to set a passphrase and print a sheet again, but the committee told.
    assert "passwd" not in by_sheet.output and "vault audit ack" in by_sheet.output
    uses = [e for e in audit(vault_dir) if e["event"] == "emergency-use"]
    assert uses[-1]["detail"]["reason"] == "coordinator left"
    assert run(vault_dir, "list", passphrase="Second New Key 48").exit_code == 0
    for passphrase in (NEW, DEPUTY):
        assert run(vault_dir, "list", passphrase=passphrase).exit_code == 3
    opened = run(vault_dir, "list", "--emergency-key", str(key_file), "--reason", "test",
                 passphrase=None)  # fmt: skip
    assert opened.exit_code == 3, opened.output
    events = [e["event"] for e in audit(vault_dir)]
    assert events.count("rotate-start") == events.count("rotate") == 2
    exports = exported(vault_dir, "Second New Key 48", tmp_path / "out")
    assert exports == expected(filled)


def test_keys_changed_while_the_documents_move_are_not_carried_over(
    filled: Filled, vault_dir: Path, tmp_path: Path
) -> None:
    """The documents move without the lock: a key removed meanwhile (its holder
    left) must not come back with the new keys; a key added meanwhile cannot
    be carried (its passphrase is not known) and is said to be removed; a new
    passphrase or emergency sheet is refused until the rotation is done (it
    would not outlast its switch)."""
    add_key(vault_dir, "deputy", DEPUTY)
    add_key(vault_dir, "chair", CHAIR)
    keep = []
    for label, passphrase in (("deputy", DEPUTY), ("chair", CHAIR)):
        (tmp_path / label).write_text(passphrase + "\n")
        keep += ["--keep-key", f"{label}={tmp_path / label}"]
    rotate_killed_at(vault_dir, tmp_path, "moved:1", *keep)
    assert run(vault_dir, "key", "remove", "deputy", "--yes").exit_code == 0
    changed = run(vault_dir, "passwd", passphrase=CHAIR, VAULT_NEW_PASSPHRASE="Chair Changed 64")
    assert changed.exit_code == 2, changed.output
    assert "a key rotation is under way" in changed.output
    sheet = run(vault_dir, "emergency-sheet", "--out", str(tmp_path / "mid.pdf"))
    assert sheet.exit_code == 2 and not (tmp_path / "mid.pdf").exists(), sheet.output
    add_key(vault_dir, "treasurer", "Treasurer Joins 28")

    result = run(vault_dir, "rotate")
    assert result.exit_code == 0, result.output
    assert "Keys kept: chair, coordinator." in result.stdout, result.stdout
    assert "Keys removed: treasurer (their holders need a new key" in result.stdout
    for passphrase in (DEPUTY, "Chair Changed 64", "Treasurer Joins 28"):
        assert run(vault_dir, "list", passphrase=passphrase).exit_code == 3, passphrase
    assert run(vault_dir, "list", passphrase=CHAIR).exit_code == 0
    listed = as_json(run(vault_dir, "key", "list", "--json", passphrase=None))
    assert sorted(k["label"] for k in listed) == ["chair", "coordinator"]
    assert sorted(p.name for p in (vault_dir / "keys" / "people").iterdir()) == ["chair.age"]
    assert_whole(vault_dir, filled, tmp_path / "out")


@pytest.mark.parametrize("command", ["passwd", "emergency-sheet"])
def test_a_rotation_begun_while_passwd_or_a_sheet_waited_for_the_lock_refuses_it(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """A 'vault passwd' or 'vault emergency-sheet' that looked before a rotation
    had begun, then waited for the lock its begin held, is refused once it has
    the lock: its passphrase or sheet would not outlast the switch (a sheet
    printed after the rotation's own, whose key then opens nothing)."""
    rotate_killed_at(vault_dir, tmp_path, "moved:1")
    real = rotation.read_state
    calls: list[Path] = []

    def begun_after_the_first_look(root: Path) -> rotation.Rotation | None:
        calls.append(root)
        return None if len(calls) == 1 else real(root)

    monkeypatch.setattr(rotation, "read_state", begun_after_the_first_look)
    keys = {p: p.read_bytes() for p in sorted((vault_dir / "keys").rglob("*")) if p.is_file()}
    args = ["--out", str(tmp_path / "mid.pdf")] if command == "emergency-sheet" else []
    result = run(vault_dir, command, *args, VAULT_NEW_PASSPHRASE="Changed Meanwhile 64")
    assert result.exit_code == 2, result.output
    assert "a key rotation is under way" in result.output
    assert not (tmp_path / "mid.pdf").exists()
    assert {p: p.read_bytes() for p in keys} == keys


# --- 6 and 7: refused before anything is written -------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """``root`` and every file and folder in it: (mtime in ns, size); a file
    made and removed again shows in its folder's time."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in [root, *sorted(root.rglob("*"))]
    }


def assert_refused(root: Path, sheet: Path, before: dict[str, tuple[int, int]], result: Result,
                   status: int, message: str) -> None:  # fmt: skip
    assert result.exit_code == status, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("vault: error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert not (root / "rotation").exists()
    assert not sheet.exists()
    assert snapshot(root) == before


def test_a_wrong_passphrase_writes_nothing(vault_dir: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.pdf"
    assert run(vault_dir, "list").exit_code == 0  # (the lock file made)
    before = snapshot(vault_dir)
    result = rotate(vault_dir, sheet, passphrase="Not The One 55")
    assert_refused(vault_dir, sheet, before, result, 3, "wrong passphrase")
    assert run(vault_dir, "list").exit_code == 0


def test_a_weak_passphrase_or_a_wrong_kept_key_writes_nothing(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "deputy", DEPUTY)
    sheet = tmp_path / "sheet.pdf"
    assert run(vault_dir, "list").exit_code == 0
    before = snapshot(vault_dir)
    weak = run(
        vault_dir, "rotate", "--emergency-sheet", str(sheet), VAULT_NEW_PASSPHRASE="password1"
    )
    assert_refused(vault_dir, sheet, before, weak, 2, "passphrase refused")
    same = run(
        vault_dir, "rotate", "--emergency-sheet", str(sheet), VAULT_NEW_PASSPHRASE=PASSPHRASE
    )
    assert_refused(vault_dir, sheet, before, same, 2, "opens one of the vault's keys now")

    unknown = rotate(vault_dir, sheet, "--keep-key", f"treasurer={tmp_path / 'x.txt'}")
    assert_refused(vault_dir, sheet, before, unknown, 2, "no personal key is labelled 'treasurer'")
    wrong = tmp_path / "deputy.txt"
    wrong.write_text("Not Deputys 12\n")
    refused = rotate(vault_dir, sheet, "--keep-key", f"deputy={wrong}")
    assert_refused(
        vault_dir, sheet, before, refused, 3, "the passphrase given for the key 'deputy' does not"
    )
    assert run(vault_dir, "list", passphrase=DEPUTY).exit_code == 0


# --- 8: status ---------------------------------------------------------------------------------


def test_status_shows_the_last_rotation(vault_dir: Path, tmp_path: Path) -> None:
    assert as_json(run(vault_dir, "status", "--json", passphrase=None))["last_rotation"] is None
    assert "Last key rotation: never." in run(vault_dir, "status", passphrase=None).output
    start = clock.now().replace(microsecond=0)
    assert rotate(vault_dir, tmp_path / "sheet.pdf").exit_code == 0
    end = clock.now()
    for passphrase in (None, NEW):
        found = as_json(run(vault_dir, "status", "--json", passphrase=passphrase))
        when = found["last_rotation"]
        assert when is not None and start <= datetime.fromisoformat(when) <= end
        shown = run(vault_dir, "status", passphrase=passphrase)
        assert f"Last key rotation: {clock.shown(when)}." in shown.output


# --- a batch scan several documents were split from ------------------------------------


def store_split_batch(root: Path, folder: Path) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """A batch scan stored whole, as ``vault ingest`` stores one (``vault.batches``),
    with three documents split from it: the batch's bytes, {doc id: pages}."""
    from vault.batches import store_batch

    folder.mkdir()
    scan = folder / "batch.pdf"
    scan.write_bytes(make_pdf(folder / "x.pdf", "batch").read_bytes() + os.urandom(5000))
    pages = {}
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        batch = store_batch(vault, scan, name=scan.name, media_type="application/pdf")
        assert batch.fingerprint is not None
        for n, span in enumerate([(1, 2), (4, 4), (6, 9)], 1):
            part = make_pdf(folder / f"batch-p{n}.pdf", f"Letter {n} of the batch {WORD}")
            stored = vault.store_file(
                part, name=part.name, media_type="application/pdf",
                text=[f"Letter {n} {WORD}"], pages=1, batch=batch.of_pages(*span),
            )  # fmt: skip
            pages[stored.doc_id] = span
        vault.fold_journal()
        vault.save_catalog()
    return scan.read_bytes(), pages


def batch_refs(root: Path, passphrase: str, ids: Iterable[str]) -> set[str]:
    return {
        as_json(run(root, "show", doc_id, "--json", passphrase=passphrase))["batch"]["object"]
        for doc_id in ids
    }


@pytest.mark.parametrize("point", [None, "batch:1", "moved:2"])
def test_a_batch_scan_is_moved_once_and_named_by_every_document_split_from_it(
    vault_dir: Path, tmp_path: Path, point: str | None
) -> None:
    original, pages = store_split_batch(vault_dir, tmp_path / "post")
    (old_ref,) = batch_refs(vault_dir, PASSPHRASE, pages)
    before = stored_files(vault_dir)
    assert old_ref in before
    if point is None:
        assert rotate(vault_dir, tmp_path / "sheet.pdf").exit_code == 0
    else:
        rotate_killed_at(vault_dir, tmp_path, point)
        resumed = run(vault_dir, "rotate")
        assert resumed.exit_code == 0, resumed.output
    (new_ref,) = batch_refs(vault_dir, NEW, pages)  # one and the same batch object
    assert new_ref != old_ref
    for doc_id, span in pages.items():
        shown = as_json(run(vault_dir, "show", doc_id, "--json", passphrase=NEW))
        assert shown["batch"]["pages"] == list(span)
        out = tmp_path / f"batch-{doc_id}.pdf"
        done = run(vault_dir, "export", doc_id, "--batch", "--out", str(out), passphrase=NEW)
        assert done.exit_code == 0, done.output
        assert out.read_bytes() == original  # byte for byte
    checked = run(vault_dir, "verify", passphrase=NEW)
    assert checked.exit_code == 0, checked.output
    files = stored_files(vault_dir)
    assert not files & before  # every old one removed
    assert len(files) == len(before)  # each moved once: one batch object, not three
    assert new_ref in files
    assert files == referenced(vault_dir, NEW) | {new_ref}

"""Access levels through the CLI: keys of the session level (``vault key add
--level``), documents stored at a level (``vault ingest --level``, types
granted by default in config.json), and what the reference ``age`` command
opens with a session key: exactly the granted documents' files.

The session key's passphrase file, the level's key file and every object are
opened with ``age`` alone, as a volunteer with the key could."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, TEST_WORK_FACTOR
from tests.integration.agecmd import (
    AgeCommandError,
    age_decrypt_with_identity,
    age_decrypt_with_passphrase,
    write_identity_file,
)
from vault import scrypt_file
from vault.cli import cli
from vault.config import Layout, read_config, write_config

VOLUNTEER = "Volunteer Tea 58"
LEADER = "Leader Of Team 61"
SECRETS = (PASSPHRASE, VOLUNTEER, LEADER)
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
    for name in ("VAULT_PASSPHRASE", "VAULT_NEW_PASSPHRASE", "VAULT_TEST_ACCESS_STOP_AT"):
        monkeypatch.delenv(name, raising=False)


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


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def vault_process(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a process of its own (one a checkpoint may kill)."""
    done = subprocess.run(
        [sys.executable, "-c", CHEAP_VAULT, "--vault", str(root), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def add_key(root: Path, label: str, passphrase: str, level: str = "session") -> Result:
    return ok(run(root, "key", "add", label, "--level", level, VAULT_NEW_PASSPHRASE=passphrase))


def letter(folder: Path, name: str, words: str) -> Path:
    """A short text document holding ``words`` (stored by its text, no OCR)."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"Dear coordinator,\n\n{words}\n\nYours sincerely,\nA. Sender\n")
    return path


def ingest(root: Path, path: Path, *args: str, passphrase: str | None = None) -> str:
    """Store ``path`` (without a key unless given); its document id."""
    found = as_json(
        run(root, "ingest", str(path), "--keep-source", "--json", *args, passphrase=passphrase)
    )
    assert len(found) == 1, found
    return str(found[0]["id"])


def manifest_of(root: Path, doc_id: str) -> dict[str, Any]:
    return dict(as_json(run(root, "show", doc_id, "--json")))


def files_of(root: Path, doc_id: str) -> set[str]:
    """The names of the manifest and objects of document ``doc_id`` (full key)."""
    row = manifest_of(root, doc_id)
    named = {row["manifest"], *row["original"].split(",")}
    if row["searchable"]:
        named.update(row["searchable"].split(","))
    return named


def level_secret(root: Path, work: Path, label: str, passphrase: str, level: str) -> Path:
    """An identity file of level ``level``'s key, as its keyholder gets it with
    ``age`` alone: their passphrase opens keys/people/LABEL.age, which opens
    keys/levels/LEVEL.age."""
    work.mkdir(exist_ok=True)
    own = age_decrypt_with_passphrase(root / "keys" / "people" / f"{label}.age", passphrase)
    own_file = write_identity_file(work / f"{label}.key", own.decode())
    secret = age_decrypt_with_identity(root / "keys" / "levels" / f"{level}.age", own_file)
    assert secret.startswith(b"AGE-SECRET-KEY-1")
    return write_identity_file(work / f"{level}-{label}.key", secret.decode())


def age_opens(path: Path, identity_file: Path) -> bool:
    try:
        age_decrypt_with_identity(path, identity_file)
    except AgeCommandError as exc:
        assert exc.returncode is not None, exc  # failed, not timed out
        return False
    return True


def stored(root: Path) -> list[Path]:
    """Every object and manifest file of the vault folder."""
    return sorted(
        p for store in ("objects", "manifests") for p in (root / store).rglob("*") if p.is_file()
    )


def opened_by(root: Path, identity_file: Path, files: list[Path] | None = None) -> set[str]:
    """The names of the files (objects and manifests by default) ``age`` opens."""
    return {
        p.name
        for p in (files if files is not None else stored(root))
        if age_opens(p, identity_file)
    }


def set_levels(root: Path, levels: dict[str, Any]) -> None:
    layout = Layout(root)
    config = read_config(layout)
    config["levels"] = levels
    write_config(layout, config)


# --- keys of a level, documents stored at a level ------------------------------------


def test_a_session_key_opens_with_age_exactly_the_documents_stored_at_its_level(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "volunteer", VOLUNTEER)
    keys = {k["label"]: k for k in as_json(run(vault_dir, "key", "list", "--json"))}
    assert keys["volunteer"]["level"] == "session" and keys["coordinator"]["level"] == "full"
    register = (vault_dir / "keys" / "people.json").read_text()
    assert "AGE-SECRET" not in register and VOLUNTEER not in register
    for name in ("session.pub", "session.age"):
        assert (vault_dir / "keys" / "levels" / name).stat().st_mode & 0o777 == 0o600
    inbox = tmp_path / "inbox"
    granted = ingest(
        vault_dir, letter(inbox, "notes.txt", "Session notes SALAMANDER"), "--level", "session"
    )
    withheld = ingest(vault_dir, letter(inbox, "referral.txt", "Referral PANGOLIN"))
    session = level_secret(vault_dir, tmp_path / "keys", "volunteer", VOLUNTEER, "session")
    mine, others = files_of(vault_dir, granted), files_of(vault_dir, withheld)  # (folded)
    assert opened_by(vault_dir, session) == mine
    assert others.isdisjoint(mine)
    assert manifest_of(vault_dir, granted)["levels"] == ["session"]
    assert manifest_of(vault_dir, withheld)["levels"] == []
    # The full key still opens everything (each file has its stanza).
    from vault.keys import KeyPaths, unlock_with_passphrase

    data = write_identity_file(
        tmp_path / "data.key",
        unlock_with_passphrase(KeyPaths(vault_dir / "keys"), PASSPHRASE).secret,
    )
    assert opened_by(vault_dir, data) == {p.name for p in stored(vault_dir)}
    assert age_opens(vault_dir / "keys" / "levels" / "session.age", data)


def test_types_granted_by_default_and_levels_refused_before_anything_is_read(
    vault_dir: Path, tmp_path: Path
) -> None:
    set_levels(vault_dir, {"full": {}, "session": {"types": ["letter"]}})
    inbox = tmp_path / "inbox"
    # A level with no key yet cannot be stored to, without a full key.
    unknown = run(
        vault_dir,
        "ingest",
        str(letter(inbox, "a.txt", "x")),
        "--level",
        "visitors",
        passphrase=None,
    )
    assert unknown.exit_code == 2 and "no access level 'visitors'" in unknown.output
    keyless = run(
        vault_dir, "ingest", str(letter(inbox, "b.txt", "x")), "--level", "session", passphrase=None
    )
    assert keyless.exit_code == 2 and "has no key yet" in keyless.output
    assert not stored(vault_dir)
    # A full unlock makes the key of a level that types are granted to.
    ok(run(vault_dir, "list"))
    assert (vault_dir / "keys" / "levels" / "session.pub").exists()
    typed = ingest(vault_dir, letter(inbox, "c.txt", "Contact on Saturday"), "--type", "letter")
    other = ingest(
        vault_dir, letter(inbox, "d.txt", "Referral from the council"), "--type", "referral"
    )
    assert manifest_of(vault_dir, typed)["levels"] == ["session"]
    assert manifest_of(vault_dir, other)["levels"] == []
    set_levels(vault_dir, {"full": {"types": ["letter"]}})
    bad = run(vault_dir, "list")
    assert bad.exit_code == 2 and "'levels'" in bad.output


def test_a_key_rotation_gives_each_level_a_new_key_and_keeps_its_keyholders(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "volunteer", VOLUNTEER)
    inbox = tmp_path / "inbox"
    granted = ingest(vault_dir, letter(inbox, "a.txt", "Session AXOLOTL"), "--level", "session")
    withheld = ingest(vault_dir, letter(inbox, "b.txt", "Referral OKAPI"))
    old = level_secret(vault_dir, tmp_path / "old", "volunteer", VOLUNTEER, "session")
    new_passphrase = "Brand New Key 93"
    rotated = run(
        vault_dir, "rotate", "--emergency-sheet", str(tmp_path / "sheet.pdf"),
        VAULT_NEW_PASSPHRASE=new_passphrase,
    )  # fmt: skip
    ok(rotated)
    assert "Keys kept: coordinator, volunteer." in rotated.output  # carried over, not asked
    assert "'volunteer' will be removed" not in rotated.output
    new = level_secret(vault_dir, tmp_path / "new", "volunteer", VOLUNTEER, "session")
    shown = as_json(run(vault_dir, "show", granted, "--json", passphrase=new_passphrase))
    mine = {shown["manifest"], *shown["original"].split(","), *shown["searchable"].split(",")}
    assert opened_by(vault_dir, new) == mine
    assert not opened_by(vault_dir, old)
    other = as_json(run(vault_dir, "show", withheld, "--json", passphrase=new_passphrase))
    assert other["manifest"] not in opened_by(vault_dir, new)
    listed = as_json(run(vault_dir, "list", "--json", passphrase=VOLUNTEER))
    assert [row["id"] for row in listed] == [granted]  # the session's catalog, made again


def test_the_remote_holds_the_level_keys_and_opens_the_same_way(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "volunteer", VOLUNTEER)
    inbox = tmp_path / "inbox"
    granted = ingest(vault_dir, letter(inbox, "a.txt", "Session QUOKKA"), "--level", "session")
    ingest(vault_dir, letter(inbox, "b.txt", "Referral NUMBAT"))
    mine = files_of(vault_dir, granted)
    usb = tmp_path / "usb"
    ok(run(vault_dir, "remote", "add", "usb", str(usb), "--create", passphrase=None))
    ok(run(vault_dir, "sync", passphrase=None))
    for name in ("session.pub", "session.age"):
        assert (usb / "keys" / "levels" / name).read_bytes() == (
            vault_dir / "keys" / "levels" / name
        ).read_bytes()
    session = level_secret(usb, tmp_path / "keys", "volunteer", VOLUNTEER, "session")
    assert opened_by(usb, session) == mine
    ok(run(vault_dir, "verify", "--remote", "usb", passphrase=None))
    restored = tmp_path / "restored"
    ok(run(restored, "recover", "--from", str(usb), "--to", str(restored)))
    assert (restored / "keys" / "levels" / "session.age").read_bytes() == (
        vault_dir / "keys" / "levels" / "session.age"
    ).read_bytes()
    assert opened_by(restored, session) == mine


# --- granting and taking back ----------------------------------------------------------


def level_key(root: Path, passphrase: str) -> Any:
    """The level key ``passphrase`` opens (in Python: for checking many files)."""
    from vault import key_register
    from vault.keys import KeyPaths

    key, _ = key_register.unlock_any_level(
        KeyPaths(root / "keys"), read_config(Layout(root)), passphrase
    )
    return key


def opens(path: Path, key: Any) -> bool:
    from vault import crypto
    from vault.errors import VaultError

    try:
        crypto.decrypt_bytes(path.read_bytes(), [key.identity])
    except VaultError:  # not for this key, or not an age file at all
        return False
    return True


def exported(root: Path, doc_id: str, out: Path) -> bytes:
    ok(run(root, "export", doc_id, "--out", str(out), "--force", "--purpose", "other"))
    data = out.read_bytes()
    out.unlink()
    return data


def verified(root: Path) -> dict[str, Any]:
    found = run(root, "verify", "--json", passphrase=None)
    assert found.exit_code == 0, found.output
    return dict(json.loads(found.stdout))


def test_grant_then_revoke_with_age_here_and_on_the_remote(vault_dir: Path, tmp_path: Path) -> None:
    from vault import age_x25519

    add_key(vault_dir, "volunteer", VOLUNTEER)
    inbox = tmp_path / "inbox"
    first = ingest(vault_dir, letter(inbox, "a.txt", "Contact notes WOMBAT"))
    second = ingest(vault_dir, letter(inbox, "b.txt", "Court order DINGO"))
    before = exported(vault_dir, first, tmp_path / "out.txt")
    usb = tmp_path / "usb"
    ok(run(vault_dir, "remote", "add", "usb", str(usb), "--create", passphrase=None))
    ok(run(vault_dir, "sync", passphrase=None))
    old_files = files_of(vault_dir, first)
    session = level_secret(vault_dir, tmp_path / "keys", "volunteer", VOLUNTEER, "session")
    assert not opened_by(vault_dir, session)

    granted = ok(run(vault_dir, "access", "grant", "session", first))
    assert "1 document granted to 'session'" in granted.output
    mine = files_of(vault_dir, first)
    assert mine.isdisjoint(old_files)  # new files (objects are write-once)
    assert opened_by(vault_dir, session) == mine
    assert {p.name for p in stored(vault_dir)}.isdisjoint(old_files)  # removed here
    assert exported(vault_dir, first, tmp_path / "out.txt") == before
    assert verified(vault_dir)["unreferenced"] == 0
    again = ok(run(vault_dir, "access", "grant", "session", first))
    assert "Already granted to 'session'" in again.output
    ok(run(vault_dir, "sync", passphrase=None))
    assert opened_by(usb, session) == mine  # the new files sent, the old ones removed
    assert not {p.name for p in stored(usb)} & old_files

    # A file key kept from the granted object (one header away from the level's
    # key) must not open what revoking writes.
    row = manifest_of(vault_dir, first)
    granted_object = next(vault_dir.joinpath("objects").rglob(row["original"]))
    head = granted_object.read_bytes()[:4096]
    level = level_key(vault_dir, VOLUNTEER)
    kept = age_x25519.unwrap_header(head, level.secret)
    assert kept is not None
    ok(run(vault_dir, "access", "revoke", "session", first))
    assert not opened_by(vault_dir, session)
    revoked = manifest_of(vault_dir, first)
    assert revoked["levels"] == []
    new_object = next(vault_dir.joinpath("objects").rglob(revoked["original"]))
    data = new_object.read_bytes()
    from vault import crypto, scrypt_file
    from vault.errors import CryptoFormatError

    parsed = scrypt_file.read_header(data[: crypto.MAX_HEADER_BYTES])
    assert parsed is not None
    with open(new_object, "rb") as f, pytest.raises(CryptoFormatError):
        list(age_x25519.Payload(f.fileno(), kept[0], parsed[3]).pieces())
    assert exported(vault_dir, first, tmp_path / "out.txt") == before
    ok(run(vault_dir, "sync", passphrase=None))
    assert not opened_by(usb, session)
    entries = [json.loads(line) for line in (vault_dir / "audit.log").read_text().splitlines()]
    assert [e["event"] for e in entries if e["event"] in ("grant", "revoke")] == ["grant", "revoke"]
    assert entries[-1]["event"] == "sync" or any(
        e["ids"] == [first] for e in entries if e["event"] == "revoke"
    )
    assert second not in json.dumps([e for e in entries if e["event"] in ("grant", "revoke")])


def test_grant_refuses_what_it_cannot_do_before_writing(vault_dir: Path, tmp_path: Path) -> None:
    doc = ingest(vault_dir, letter(tmp_path / "in", "a.txt", "Note"), passphrase=PASSPHRASE)
    files = {p.name for p in stored(vault_dir)}
    unknown = run(vault_dir, "access", "grant", "visitors", doc)
    assert unknown.exit_code == 2 and "no access level 'visitors'" in unknown.output
    full = run(vault_dir, "access", "grant", "full", doc)
    assert full.exit_code == 2 and "opens every document already" in full.output
    missing = run(vault_dir, "access", "grant", "session", doc, "D-ZZZZZZ")
    assert missing.exit_code == 1 and "no document D-ZZZZZZ" in missing.output
    assert {p.name for p in stored(vault_dir)} == files
    assert not (vault_dir / "access").exists()
    listed = as_json(run(vault_dir, "access", "list", "--json"))
    assert [level["level"] for level in listed["levels"]] == ["full", "session"]
    assert listed["levels"][1]["documents"] == [] and not listed["cut_short"]


# --- a grant of 200 documents killed, then resumed ------------------------------------------


MANY = 200


@pytest.fixture(scope="module")
def many(template_vault: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A vault of ``MANY`` short documents and a session key (made once; tests copy it)."""
    import shutil

    from vault import key_register
    from vault.repository import Vault

    base = tmp_path_factory.mktemp("many")
    root = base / "vault"
    shutil.copytree(template_vault.path, root)
    inbox = base / "inbox"
    inbox.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            scrypt_file,
            "encrypt",
            functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR),
        )
        vault = Vault.open(root)
        with vault.lock:
            vault.unlock(PASSPHRASE)
            key = vault.unlocked_key()
            key_register.add_key(
                vault.key_paths, vault.config, key, "volunteer", VOLUNTEER, "session"
            )
            ids = []
            with vault.storing():
                for n in range(MANY):
                    path = inbox / f"note-{n}.txt"
                    path.write_text(f"Session note {n} word{n}x " * 40)
                    stored = vault.store_file(
                        path,
                        name=path.name,
                        media_type="text/plain",
                        text=[path.read_text()],
                        pages=1,
                    )
                    ids.append(stored.doc_id)
            vault.fold_journal()
            vault.save_catalog()
    return root, ids


def copy_of(many: tuple[Path, list[str]], tmp_path: Path) -> tuple[Path, list[str]]:
    import shutil

    root = tmp_path / "vault"
    shutil.copytree(many[0], root)
    return root, many[1]


def assert_all_granted(root: Path, ids: list[str], files: int) -> None:
    """Every document granted once: its files open with the session key, and
    nothing is left over or missing."""
    listed = as_json(run(root, "access", "list", "--json"))
    session = next(level for level in listed["levels"] if level["level"] == "session")
    assert sorted(d["id"] for d in session["documents"]) == sorted(ids)
    assert not listed["cut_short"] and not (root / "access").exists()
    key = level_key(root, VOLUNTEER)
    every = stored(root)
    assert len(every) == files  # nothing doubled, nothing lost
    assert all(opens(p, key) for p in every)
    report = verified(root)
    assert report["unreferenced"] == 0 and report["ok"], report
    events = [
        json.loads(line)
        for line in (root / "audit.log").read_text().splitlines()
        if '"grant"' in line
    ]
    grants = [e for e in events if e["event"] == "grant"]
    assert len(grants) == 1 and sorted(grants[0]["ids"]) == sorted(ids)


@pytest.mark.parametrize("point", ["begun", "doc:1", "noted", "doc:150", "saved"])
def test_a_grant_of_200_documents_killed_resumes(
    many: tuple[Path, list[str]], tmp_path: Path, point: str
) -> None:
    root, ids = copy_of(many, tmp_path)
    files = len(stored(root))
    sample = ids[137]
    before = exported(root, sample, tmp_path / "out.txt")
    killed = vault_process(
        root, "access", "grant", "session", *ids,
        VAULT_PASSPHRASE=PASSPHRASE, VAULT_TEST_ACCESS_STOP_AT=point,
    )  # fmt: skip
    assert killed.returncode == -9, (killed.returncode, killed.stderr)
    assert (root / "access").exists()
    shown = as_json(run(root, "access", "list", "--json"))
    assert shown["cut_short"]
    resumed = ok(run(root, "access", "resume"))
    assert "cut short" in resumed.output
    assert_all_granted(root, ids, files)
    assert exported(root, sample, tmp_path / "out.txt") == before
    found = as_json(run(root, "search", "word137x", "--json"))
    assert found[0]["id"] == sample


def test_a_grant_killed_then_an_edit_meanwhile_is_granted_from_its_new_manifest(
    many: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, ids = copy_of(many, tmp_path)
    files = len(stored(root))
    killed = vault_process(
        root, "access", "grant", "session", *ids,
        VAULT_PASSPHRASE=PASSPHRASE, VAULT_TEST_ACCESS_STOP_AT="doc:100",
    )  # fmt: skip
    assert killed.returncode == -9
    ok(run(root, "edit", ids[3], "--title", "Corrected title"))  # one already noted
    ok(run(root, "edit", ids[150], "--title", "Another title"))  # one not yet
    ok(run(root, "access", "grant", "session", ids[0]))  # finishes the cut-short one first
    assert_all_granted(root, ids, files)
    assert manifest_of(root, ids[3])["title"] == "Corrected title"


# --- what a session key shows: the granted documents, nothing of the others -------------


def every_file(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def level_plaintext(root: Path, key: Any) -> bytes:
    """Every file of the vault folder the level's key opens, decrypted and
    decompressed where it is a catalog file, joined."""
    import zlib

    from vault import crypto
    from vault.errors import VaultError

    found = b""
    for path in every_file(root):
        try:
            plain = crypto.decrypt_bytes(path.read_bytes(), [key.identity])
        except (VaultError, OSError):
            continue
        if path.parent.name == "catalog":
            plain = zlib.decompress(plain)
        found += plain
    return found


def test_a_session_key_lists_and_finds_only_what_is_granted(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "volunteer", VOLUNTEER)
    inbox = tmp_path / "inbox"
    granted = ingest(
        vault_dir,
        letter(inbox, "a.txt", "Contact arrangements SALAMANDER for family F-0042"),
        "--level", "session", "--type", "letter", "--family", "F-0042",
    )  # fmt: skip
    withheld = ingest(
        vault_dir,
        letter(inbox, "b.txt", "IN THE FAMILY COURT order PANGOLIN case NT26P00412"),
        "--type", "court-order", "--family", "F-0099",
    )  # fmt: skip
    ok(run(vault_dir, "list"))  # a full key folds both in and writes the session's catalog
    listed = as_json(run(vault_dir, "list", "--json", passphrase=VOLUNTEER))
    assert [row["id"] for row in listed] == [granted]
    for query in ("PANGOLIN", "pangolin", "NT26P00412", "court", withheld):
        assert as_json(run(vault_dir, "search", query, "--json", passphrase=VOLUNTEER)) == []
    assert [
        d["id"]
        for d in as_json(run(vault_dir, "search", "SALAMANDER", "--json", passphrase=VOLUNTEER))
    ] == [granted]
    for narrowed in (("--type", "court-order"), ("--family", "F-0099")):
        assert as_json(run(vault_dir, "list", "--json", *narrowed, passphrase=VOLUNTEER)) == []
    shown = as_json(run(vault_dir, "show", granted, "--json", passphrase=VOLUNTEER))
    assert "SALAMANDER" in " ".join(shown["text"]) and shown["levels"] == ["session"]
    hidden = run(vault_dir, "show", withheld, passphrase=VOLUNTEER)
    nothing = run(vault_dir, "show", "D-ZZZZZZ", passphrase=VOLUNTEER)
    assert hidden.exit_code == nothing.exit_code == 1
    assert hidden.output.replace(withheld, "ID") == nothing.output.replace("D-ZZZZZZ", "ID")
    plain = run(vault_dir, "list", passphrase=VOLUNTEER).output
    assert withheld not in plain and "F-0099" not in plain and "2 " not in plain.split("\n")[0]

    # With age alone: the session key opens the granted document's files and
    # the session's catalog, and no other file of the vault folder.
    session = level_secret(vault_dir, tmp_path / "keys", "volunteer", VOLUNTEER, "session")
    head = json.loads((vault_dir / "head.json").read_text())
    level_file = f"{head['levels']['session']['catalog']}.age"
    assert head["levels"]["session"]["documents"] == 1
    assert opened_by(vault_dir, session, every_file(vault_dir)) == files_of(vault_dir, granted) | {
        level_file
    }
    text = level_plaintext(vault_dir, level_key(vault_dir, VOLUNTEER))
    for secret in (b"PANGOLIN", withheld.encode(), b"F-0099", b"NT26P00412", b"court-order"):
        assert secret not in text
    assert b"SALAMANDER" in text

    # Stored at the session level without a key since: listed at once.
    later = ingest(
        vault_dir, letter(inbox, "c.txt", "Session notes AARDVARK"), "--level", "session"
    )
    ingest(vault_dir, letter(inbox, "d.txt", "Referral BILBY"))
    listed = as_json(run(vault_dir, "list", "--json", passphrase=VOLUNTEER))
    assert sorted(row["id"] for row in listed) == sorted([granted, later])
    assert as_json(run(vault_dir, "search", "BILBY", "--json", passphrase=VOLUNTEER)) == []

    # Taken back: gone from the session's catalog, file and search.
    ok(run(vault_dir, "access", "revoke", "session", granted))
    assert [r["id"] for r in as_json(run(vault_dir, "list", "--json", passphrase=VOLUNTEER))] == [
        later
    ]
    assert as_json(run(vault_dir, "search", "SALAMANDER", "--json", passphrase=VOLUNTEER)) == []
    assert b"SALAMANDER" not in level_plaintext(vault_dir, level_key(vault_dir, VOLUNTEER))


def test_a_session_key_on_a_recovered_vault_and_the_remote(vault_dir: Path, tmp_path: Path) -> None:
    add_key(vault_dir, "volunteer", VOLUNTEER)
    inbox = tmp_path / "inbox"
    granted = ingest(vault_dir, letter(inbox, "a.txt", "Session MARMOSET"), "--level", "session")
    ingest(vault_dir, letter(inbox, "b.txt", "Referral TAPIR"))
    usb = tmp_path / "usb"
    ok(run(vault_dir, "remote", "add", "usb", str(usb), "--create", passphrase=None))
    ok(run(vault_dir, "list"))
    ok(run(vault_dir, "sync", passphrase=None))
    session = level_secret(usb, tmp_path / "keys", "volunteer", VOLUNTEER, "session")
    head = json.loads((usb / "head.json").read_text())
    level_file = f"{head['levels']['session']['catalog']}.age"
    assert opened_by(usb, session, every_file(usb)) == files_of(vault_dir, granted) | {level_file}
    restored = tmp_path / "restored"
    ok(run(restored, "recover", "--from", str(usb), "--to", str(restored)))
    listed = as_json(run(restored, "list", "--json", passphrase=VOLUNTEER))
    assert [row["id"] for row in listed] == [granted]


# --- a session key reads and searches, and does nothing else ------------------------------


REFUSED = [
    ("export", "{doc}", "--out", "{tmp}/out.txt", "--purpose", "other"),
    ("export", "{doc}", "--bundle", "{tmp}/bundle.age"),
    ("edit", "{doc}", "--title", "Changed"),
    ("erase", "{doc}", "--yes"),
    ("retention",),
    ("prune", "--dry-run"),
    ("passwd",),
    ("key", "add", "another", "--level", "session"),
    ("key", "remove", "volunteer", "--yes"),
    ("emergency-sheet", "--out", "{tmp}/sheet.pdf"),
    ("rotate", "--emergency-sheet", "{tmp}/sheet.pdf"),
    ("incident", "record", "--kind", "other", "--aware", "2026-01-05 10:00"),
    ("incident", "list", "--notes"),
    ("rebuild-catalog",),
    ("access", "grant", "session", "{doc}"),
    ("access", "revoke", "session", "{doc}"),
    ("access", "list"),
    ("access", "resume"),
    ("show", "{doc}", "--history"),
    ("sync", "--compact"),
    ("drill", "usb"),
    ("recover", "--from", "{tmp}/usb", "--to", "{tmp}/restored"),
]


def test_every_other_command_is_refused_with_one_line_and_status_7(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "volunteer", VOLUNTEER)
    doc = ingest(vault_dir, letter(tmp_path / "in", "a.txt", "Session QUOLL"), "--level", "session")
    ok(run(vault_dir, "remote", "add", "usb", str(tmp_path / "usb"), "--create", passphrase=None))
    ok(run(vault_dir, "sync"))
    before = {
        p.relative_to(vault_dir): p.read_bytes()
        for p in every_file(vault_dir)
        if "catalog" in p.parts
        or "objects" in p.parts
        or "manifests" in p.parts
        or p.name == "head.json"
    }
    for command in REFUSED:
        args = [a.format(doc=doc, tmp=tmp_path) for a in command]
        result = run(vault_dir, *args, passphrase=VOLUNTEER, VAULT_NEW_PASSPHRASE="Another One 77")
        assert result.exit_code == 7, (args, result.output)
        errors = [line for line in result.output.splitlines() if line.startswith("vault: error:")]
        assert len(errors) == 1, (args, result.output)
        assert "the key 'volunteer' is a key of the access level 'session'" in errors[0], args
        assert "use a full key" in result.output
    after = {
        p.relative_to(vault_dir): p.read_bytes()
        for p in every_file(vault_dir)
        if "catalog" in p.parts
        or "objects" in p.parts
        or "manifests" in p.parts
        or p.name == "head.json"
    }
    assert after == before
    assert not (tmp_path / "restored").exists() and not (tmp_path / "out.txt").exists()
    # What it may do: list, search, show, view; and unlock for the session.
    for allowed in (("list",), ("search", "QUOLL"), ("show", doc)):
        ok(run(vault_dir, *allowed, passphrase=VOLUNTEER))
    entries = [json.loads(line) for line in (vault_dir / "audit.log").read_text().splitlines()]
    refused = [e for e in entries if e["event"] == "refused"]
    assert {e["detail"]["command"] for e in refused} >= {
        "export",
        "edit",
        "key add",
        "access grant",
    }
    assert all(
        e["detail"]["key"] == "volunteer" and e["detail"]["level"] == "session" for e in refused
    )
    shown = [e for e in entries if e["event"] == "show"][-1]
    assert shown["detail"] == {"key": "volunteer", "level": "session"} and shown["ids"] == [doc]
    full = [e for e in entries if e["event"] == "sync"][-1]
    assert "level" not in full["detail"]  # a full key: no level named
    keys = {
        k["label"]: k for k in as_json(run(vault_dir, "key", "list", "--json", passphrase=None))
    }
    assert keys["volunteer"]["last_used"] is None  # noted aside until a full key enters it
    ok(run(vault_dir, "list"))
    keys = {
        k["label"]: k for k in as_json(run(vault_dir, "key", "list", "--json", passphrase=None))
    }
    assert keys["volunteer"]["last_used"]


# --- someone of the session level leaves ------------------------------------------------------


def test_removing_a_session_key_gives_the_level_a_new_key_and_seals_only_its_documents(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "volunteer", VOLUNTEER)
    add_key(vault_dir, "leader", LEADER)
    inbox = tmp_path / "inbox"
    granted = ingest(vault_dir, letter(inbox, "a.txt", "Session KOALA"), "--level", "session")
    withheld = ingest(vault_dir, letter(inbox, "b.txt", "Referral EMU"))
    usb = tmp_path / "usb"
    ok(run(vault_dir, "remote", "add", "usb", str(usb), "--create", passphrase=None))
    ok(run(vault_dir, "sync"))
    kept_by_leaver = level_secret(vault_dir, tmp_path / "old", "volunteer", VOLUNTEER, "session")
    full_files = files_of(vault_dir, withheld)
    session_files = files_of(vault_dir, granted)

    removed = ok(run(vault_dir, "key", "remove", "volunteer", "--yes"))
    assert "has a new key" in removed.output
    assert run(vault_dir, "list", passphrase=VOLUNTEER).exit_code == 3
    assert files_of(vault_dir, withheld) == full_files  # the full level untouched
    assert files_of(vault_dir, granted).isdisjoint(session_files)  # sealed again
    assert not opened_by(vault_dir, kept_by_leaver, every_file(vault_dir))
    listed = as_json(run(vault_dir, "list", "--json", passphrase=LEADER))
    assert [row["id"] for row in listed] == [granted]  # the others keep their passphrases
    new = level_secret(vault_dir, tmp_path / "new", "leader", LEADER, "session")
    assert opened_by(vault_dir, new) == files_of(vault_dir, granted)
    later = ingest(vault_dir, letter(inbox, "c.txt", "Contact notes DUGONG"))
    ok(run(vault_dir, "access", "grant", "session", later))
    assert not opened_by(vault_dir, kept_by_leaver, every_file(vault_dir))
    assert files_of(vault_dir, later) <= opened_by(vault_dir, new)
    ok(run(vault_dir, "sync", passphrase=None))
    assert not opened_by(usb, kept_by_leaver, every_file(usb))
    entries = [json.loads(line) for line in (vault_dir / "audit.log").read_text().splitlines()]
    rotated = [e for e in entries if e["event"] == "level-rotate"]
    assert len(rotated) == 1 and rotated[0]["detail"]["why"] == "key-remove"
    assert rotated[0]["detail"]["old"] != rotated[0]["detail"]["new"]


def test_rotate_level_session_leaves_the_data_key_and_other_documents_alone(
    vault_dir: Path, tmp_path: Path
) -> None:
    add_key(vault_dir, "leader", LEADER)
    inbox = tmp_path / "inbox"
    granted = ingest(vault_dir, letter(inbox, "a.txt", "Session IBIS"), "--level", "session")
    withheld = ingest(vault_dir, letter(inbox, "b.txt", "Referral HERON"))
    old = level_secret(vault_dir, tmp_path / "old", "leader", LEADER, "session")
    data_pub = (vault_dir / "keys" / "data.pub").read_bytes()
    full_files, session_files = files_of(vault_dir, withheld), files_of(vault_dir, granted)
    refused = run(vault_dir, "rotate", "--level", "session", "--keep-key", "x=y")
    assert refused.exit_code == 2
    ok(run(vault_dir, "rotate", "--level", "session"))
    assert (vault_dir / "keys" / "data.pub").read_bytes() == data_pub
    assert files_of(vault_dir, withheld) == full_files
    assert files_of(vault_dir, granted).isdisjoint(session_files)
    assert not opened_by(vault_dir, old, every_file(vault_dir))
    assert [r["id"] for r in as_json(run(vault_dir, "list", "--json", passphrase=LEADER))] == [
        granted
    ]
    # The last full key is never removed: a session key alone would open too little.
    ok(run(vault_dir, "key", "add", "deputy", VAULT_NEW_PASSPHRASE="Deputy Here 45"))
    ok(run(vault_dir, "key", "remove", "deputy", "--yes"))
    last = run(vault_dir, "key", "remove", "coordinator", "--yes")
    assert last.exit_code == 2 and "last full key" in last.output


@pytest.mark.parametrize("point", ["doc:100", "switched", "saved"])
def test_a_new_level_key_killed_resumes(
    many: tuple[Path, list[str]], tmp_path: Path, point: str
) -> None:
    root, ids = copy_of(many, tmp_path)
    ok(run(root, "access", "grant", "session", *ids))
    files = len(stored(root))
    old = level_key(root, VOLUNTEER)
    killed = vault_process(
        root, "rotate", "--level", "session",
        VAULT_PASSPHRASE=PASSPHRASE, VAULT_TEST_ACCESS_STOP_AT=point,
    )  # fmt: skip
    assert killed.returncode == -9, (killed.returncode, killed.stderr)
    ok(run(root, "access", "resume"))
    assert_all_granted(root, ids, files)
    new = level_key(root, VOLUNTEER)
    assert new.key_id != old.key_id
    assert not any(opens(p, old) for p in every_file(root))
    events = [json.loads(line) for line in (root / "audit.log").read_text().splitlines()]
    assert len([e for e in events if e["event"] == "level-rotate"]) == 1


# --- the committee's view: counts and labels, no secret -----------------------------------------


def test_status_and_report_show_the_levels_without_a_key(vault_dir: Path, tmp_path: Path) -> None:
    add_key(vault_dir, "volunteer", VOLUNTEER)
    add_key(vault_dir, "leader", LEADER)
    inbox = tmp_path / "inbox"
    granted = [
        ingest(vault_dir, letter(inbox, f"s{n}.txt", f"Session MEERKAT{n}"), "--level", "session")
        for n in range(2)
    ]
    ingest(vault_dir, letter(inbox, "r.txt", "Referral OCELOT"))
    ok(run(vault_dir, "list"))  # folded: the head counts them
    ok(run(vault_dir, "list", passphrase=LEADER))  # the leader's key used today
    found = as_json(run(vault_dir, "status", "--json", passphrase=None))
    levels = {level["level"]: level for level in found["levels"]}
    assert levels["full"]["keys"] == 1 and levels["full"]["documents"] == 3
    assert levels["session"]["keys"] == 2 and levels["session"]["documents"] == 2
    keys = {k["label"]: k for k in found["keys"]}
    assert keys["leader"]["level"] == "session" and keys["leader"]["last_used"]
    assert keys["volunteer"]["last_used"] is None
    assert not found["access_cut_short"]
    shown = ok(run(vault_dir, "status", passphrase=None)).output
    assert "session: 2 keys; 2 documents granted." in shown
    assert "full: 1 key; opens every document (3)." in shown
    assert "leader (session level): made" in shown
    report = tmp_path / "report.html"
    ok(run(vault_dir, "report", "--out", str(report), passphrase=None))
    text = report.read_text()
    assert "Access levels" in text and "session: 2 keys; 2 documents granted." in text
    for secret in ("MEERKAT", "OCELOT", "AGE-SECRET", *granted):
        assert secret not in text and secret not in shown
    (vault_dir / "access").mkdir()
    (vault_dir / "access" / "job.json").write_text("{}")
    warned = as_json(run(vault_dir, "status", "--json", passphrase=None))
    assert warned["access_cut_short"]
    assert any("change of access" in w for w in warned["warnings"])


def test_the_manual_recovery_with_age_alone_still_opens_every_document(
    vault_dir: Path, tmp_path: Path, template_vault: Any
) -> None:
    """README's procedure, as written, on a backup holding documents granted
    to the session level: the emergency key (the data key) opens them all."""
    from tests.integration.test_readme_recovery import USB_PATH, bash, procedure

    add_key(vault_dir, "volunteer", VOLUNTEER)
    inbox = tmp_path / "inbox"
    sources = {
        "granted.txt": letter(inbox, "granted.txt", "Session LEMUR"),
        "withheld.txt": letter(inbox, "withheld.txt", "Referral GECKO"),
    }
    granted = ingest(vault_dir, sources["granted.txt"], "--level", "session")
    ingest(vault_dir, sources["withheld.txt"])
    other = ingest(vault_dir, letter(inbox, "later.txt", "Contact KIWI"))
    sources["later.txt"] = inbox / "later.txt"
    ok(run(vault_dir, "access", "grant", "session", other))
    ok(run(vault_dir, "access", "revoke", "session", granted))
    usb = tmp_path / "usb"
    ok(run(vault_dir, "remote", "add", "usb", str(usb), "--create", passphrase=None))
    ok(run(vault_dir, "sync", passphrase=None))
    steps = procedure()
    work = tmp_path / "new-computer"
    work.mkdir()
    bash(steps["usb"].replace(USB_PATH, str(usb)), work)
    key = template_vault.emergency_secret
    (work / "vault-copy" / "emergency-key.txt").write_text(key + "\n")
    bash("\n".join([steps["cd"], steps["emergency"], steps["list"], steps["all"]]), work)
    folder = work / "vault-copy" / "recovered"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {
        name: path.read_bytes() for name, path in sources.items()
    }


def test_a_swapped_level_key_is_refused_and_named_by_verify(
    vault_dir: Path, tmp_path: Path
) -> None:
    from vault import crypto

    add_key(vault_dir, "volunteer", VOLUNTEER)
    inbox = tmp_path / "inbox"
    doc = ingest(vault_dir, letter(inbox, "a.txt", "Session PUFFIN"), "--level", "session")
    ok(run(vault_dir, "list"))  # a full unlock notes the level's public key outside the folder
    _, theirs = crypto.generate_identity()
    pub = vault_dir / "keys" / "levels" / "session.pub"
    ours = pub.read_bytes()
    pub.write_text(theirs + "\n")
    before = {p.name for p in stored(vault_dir)}
    swapped = run(
        vault_dir, "ingest", str(letter(inbox, "b.txt", "Notes")), "--level", "session",
        "--keep-source", passphrase=None,
    )  # fmt: skip
    assert swapped.exit_code == 4 and "keys/levels/session.pub" in swapped.output
    assert {p.name for p in stored(vault_dir)} == before  # nothing was stored
    checked = run(vault_dir, "verify", passphrase=None)
    assert checked.exit_code == 4 and "keys/levels/session.pub" in checked.output
    refused = run(vault_dir, "list", passphrase=VOLUNTEER)
    assert refused.exit_code == 4 and "access level 'session'" in refused.output
    assert ok(run(vault_dir, "show", doc))  # full keys go on working
    pub.write_bytes(ours)
    assert [r["id"] for r in as_json(run(vault_dir, "list", "--json", passphrase=VOLUNTEER))] == [
        doc
    ]

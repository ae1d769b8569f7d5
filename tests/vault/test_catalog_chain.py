"""The catalog on disk (an encrypted database) and the chain of files the head names."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY, PASSPHRASE
from vault import chain, crypto
from vault.catalog import Catalog
from vault.errors import IntegrityError
from vault.head import Head, head_record, read_head, read_index
from vault.repository import Vault


def _open(vault_dir: Path) -> Vault:
    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    return vault


def _store(vault: Vault, tmp_path: Path, n: int, text: str = "letter") -> list[str]:
    ids = []
    for i in range(n):
        src = tmp_path / f"doc-{text}-{i}.txt"
        src.write_text(f"{text} number {i}")
        stored = vault.store_file(
            src, name=src.name, media_type="text/plain", text=[f"{text} page one {i}", "two"]
        )
        ids.append(stored.doc_id)
    vault.fold_journal()
    return ids


def _head(vault_dir: Path) -> Head:
    found = read_head(vault_dir / "head.json")
    assert found is not None
    return found[0]


def _snapshot(catalog: Catalog) -> list[Any]:
    return sorted(json.dumps(r, sort_keys=True) for r in catalog.records())


def _fresh_from_chain(vault_dir: Path) -> Vault:
    """The vault as a new computer sees it: no catalog database, only the chain."""
    shutil.rmtree(vault_dir / "local" / "catalog.current", ignore_errors=True)
    for path in (vault_dir / "local").glob("catalog*"):
        path.unlink()
    return _open(vault_dir)


def test_each_save_adds_a_small_delta_and_the_chain_gives_the_same_catalog(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 3, "first")
    base = _head(vault_dir)
    _store(vault, tmp_path, 2, "second")
    vault.edit(vault.catalog.ids()[0], family="F123")
    head = _head(vault_dir)
    assert head.format == 2
    assert head.catalog == base.catalog  # the base is not written again
    assert len(head.deltas) == len(base.deltas) + 2  # a fold and an edit
    files = {p.name for p in (vault_dir / "catalog").iterdir()}
    assert files == set(head.catalog_files())
    delta = vault_dir / "catalog" / f"{head.deltas[-1][0]}.age"
    assert delta.stat().st_size < 4096  # the edit: one document's row and text
    expected = _snapshot(vault.catalog)
    assert read_index(vault_dir / "catalog", head) == {
        i: vault.objects.path(i).stat().st_size
        if vault.objects.exists(i)
        else vault.manifests.path(i).stat().st_size
        for i in vault.catalog.object_ids() | vault.catalog.manifest_ids()
    }
    again = _fresh_from_chain(vault_dir)
    assert _snapshot(again.catalog) == expected
    rebuilt = _open(vault_dir)
    rebuilt.rebuild_catalog()
    assert sorted(r["doc"]["id"] for r in rebuilt.catalog.records() if "doc" in r) == sorted(
        vault.catalog.ids()
    )


def test_the_database_holds_no_plaintext_and_is_private(vault_dir: Path, tmp_path: Path) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 2, CANARY)
    files = [p for p in (vault_dir / "local").iterdir() if p.name.startswith("catalog-")]
    assert files
    for path in [*files, *(vault_dir / "catalog").iterdir()]:
        assert CANARY.encode() not in path.read_bytes(), path
        assert path.stat().st_mode & 0o077 == 0, path


def test_a_database_put_back_from_an_older_copy_is_refused(vault_dir: Path, tmp_path: Path) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 1, "before")
    local = vault_dir / "local"
    kept = tmp_path / "kept"
    shutil.copytree(local, kept)
    _store(vault, tmp_path, 1, "after")
    del vault
    for path in local.glob("catalog*"):
        path.unlink()
    for path in kept.glob("catalog*"):
        shutil.copy2(path, local / path.name)
    with pytest.raises(IntegrityError, match="older than the vault's head"):
        _open(vault_dir).catalog
    rebuilt = _open(vault_dir)
    rebuilt.rebuild_catalog()
    assert rebuilt.catalog.count() == 2


def test_a_removal_writes_a_new_base_and_drops_the_old_files(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = _open(vault_dir)
    ids = _store(vault, tmp_path, 3, "erase")
    _store(vault, tmp_path, 1, "more")
    before = set(_head(vault_dir).catalog_files())
    assert vault.catalog.remove(ids[0])
    vault.save_catalog()
    head = _head(vault_dir)
    assert head.deltas == ()
    assert not before & set(head.catalog_files())
    assert {p.name for p in (vault_dir / "catalog").iterdir()} == set(head.catalog_files())
    again = _fresh_from_chain(vault_dir)
    assert ids[0] not in again.catalog.ids()
    assert again.catalog.count() == 3


def test_compact_writes_one_base(vault_dir: Path, tmp_path: Path) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 2, "a")
    _store(vault, tmp_path, 2, "b")
    assert _head(vault_dir).deltas
    vault.save_catalog(compact=True)
    assert _head(vault_dir).deltas == ()
    assert _fresh_from_chain(vault_dir).catalog.count() == 4


def test_a_save_cut_short_before_the_head_is_written_loses_nothing(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 1, "one")
    import vault.head as heads

    real = heads.atomic_write

    def cut(path: Path, data: bytes) -> None:
        if path.name == "head.json":
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(heads, "atomic_write", cut)
    with pytest.raises(OSError):
        _store(vault, tmp_path, 2, "two")
    monkeypatch.setattr(heads, "atomic_write", real)
    reopened = _open(vault_dir)
    assert reopened.catalog.count() == 3  # the database is ahead of the head: accepted
    reopened.fold_journal()  # the journal was kept: nothing is folded twice
    _store(reopened, tmp_path, 1, "three")  # the next save writes what the head lacked
    assert _fresh_from_chain(vault_dir).catalog.count() == 4


def _links(vault_dir: Path) -> tuple[Head, list[chain.Link]]:
    head = _head(vault_dir)
    return head, head.links


def _apply(vault: Vault, head: Head, links: list[chain.Link]) -> Catalog:
    catalog = Catalog.new()
    chain.apply_chain(
        vault.layout.catalog,
        links,
        catalog,
        vault.unlocked_key(),
        vault_id=vault.vault_id,
        last_seq=head.seq,
        texts=vault.manifest_texts(vault.unlocked_key()),
    )
    return catalog


def test_deltas_are_applied_in_order_and_a_reorder_or_gap_is_refused(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = _open(vault_dir)
    for n in range(3):
        _store(vault, tmp_path, 1, f"step{n}")
    head, links = _links(vault_dir)
    assert len(links) >= 3
    assert _apply(vault, head, links).count() == 3
    swapped = [links[0], *reversed(links[1:])]
    with pytest.raises(IntegrityError, match="out of its place"):
        _apply(vault, head, swapped)
    with pytest.raises(IntegrityError, match="out of its place"):
        _apply(vault, head, [links[0], *links[2:]])
    with pytest.raises(IntegrityError, match="out of its place"):
        _apply(vault, dataclasses.replace(head, seq=1), links)  # an older head


def test_a_delta_made_with_the_public_key_alone_is_refused(vault_dir: Path, tmp_path: Path) -> None:
    """Anyone can encrypt to the vault's public key; only the key holder can MAC."""
    vault = _open(vault_dir)
    _store(vault, tmp_path, 1, "real")
    head, links = _links(vault_dir)
    forged_key = dataclasses.replace(vault.unlocked_key(), mac_key=b"\0" * 32)
    catalog = vault.catalog
    ids = catalog.ids()
    catalog._note_change("doc", ids[0])
    link = chain.write_delta(
        vault.layout.catalog,
        catalog,
        catalog.changes(head.seq),
        vault.recipient,
        forged_key,
        vault_id=vault.vault_id,
        seq=head.seq + 1,
        base=links[0],
        prev=links[-1],
        sizes=lambda _: 1,
        texts=lambda _: None,
    )
    forged = dataclasses.replace(
        head, seq=head.seq + 1, deltas=(*head.deltas, (link.age, link.idx, 1))
    )
    with pytest.raises(IntegrityError, match="MAC"):
        _apply(vault, forged, forged.links)
    # And the head naming it needs the key too.
    (vault_dir / "head.json").write_bytes(head_record(forged, forged_key))
    with pytest.raises(IntegrityError):
        _open(vault_dir).catalog


def test_a_cut_short_or_altered_chain_file_is_refused(vault_dir: Path, tmp_path: Path) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 2, "cut")
    head, links = _links(vault_dir)
    path = vault.layout.catalog / f"{links[-1].age}.age"
    data = path.read_bytes()
    path.write_bytes(data[:-40])
    with pytest.raises(IntegrityError):
        _apply(vault, head, links)
    path.write_bytes(crypto.encrypt_bytes(b"not a chain file", [vault.recipient]))
    with pytest.raises(IntegrityError):
        _apply(vault, head, links)


def test_a_vault_saved_by_an_earlier_version_is_read_and_moved_to_the_chain(
    vault_dir: Path, tmp_path: Path
) -> None:
    """Format 1 heads name one SQLite snapshot; the first save writes a base."""
    import hashlib

    vault = _open(vault_dir)
    ids = _store(vault, tmp_path, 2, "legacy")
    head = _head(vault_dir)
    legacy = Catalog.new()
    for record in vault.catalog.records():
        legacy.apply(record)
    blob = crypto.encrypt_bytes(legacy.to_bytes(), [vault.recipient])
    index = json.dumps(read_index(vault.layout.catalog, head), sort_keys=True).encode()
    for path in [*vault.layout.catalog.iterdir(), *vault.layout.local.glob("catalog*")]:
        path.unlink()
    sha_blob, sha_index = hashlib.sha256(blob).hexdigest(), hashlib.sha256(index).hexdigest()
    (vault.layout.catalog / f"{sha_blob}.age").write_bytes(blob)
    (vault.layout.catalog / f"{sha_index}.idx").write_bytes(index)
    old = dataclasses.replace(
        head, format=1, seq=head.seq + 1, catalog=sha_blob, index=sha_index, deltas=()
    )
    assert b"deltas" not in old.body()
    (vault_dir / "head.json").write_bytes(head_record(old, vault.unlocked_key()))
    reopened = _open(vault_dir)
    assert sorted(reopened.catalog.ids()) == sorted(ids)
    assert reopened.text(ids[0])[0].startswith("legacy page one")
    reopened.save_catalog()
    assert _head(vault_dir).format == 2
    assert sorted(_fresh_from_chain(vault_dir).catalog.ids()) == sorted(ids)


def test_deltas_are_merged_a_few_at_a_time_and_the_chain_stays_short(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chain, "MERGE", 4)  # 16 in use: the same rule, fewer saves here
    vault = _open(vault_dir)
    ids = _store(vault, tmp_path, 1, "day0")
    start = len(_head(vault_dir).deltas)
    assert start == 1
    edited = ids[0]
    for day in range(1, 4):
        _store(vault, tmp_path, 1, f"day{day}")
        if day == 2:
            vault.edit(edited, family="F777")  # a later record of one document wins
    head = _head(vault_dir)
    assert [saves for _, _, saves in head.deltas] == [4, 1]  # 4 merged, then one more
    assert {p.name for p in (vault_dir / "catalog").iterdir()} == set(head.catalog_files())
    expected = _snapshot(vault.catalog)
    again = _fresh_from_chain(vault_dir)
    assert _snapshot(again.catalog) == expected
    assert again.document(edited)["family"] == "F-0777"
    named = read_index(vault_dir / "catalog", head)
    assert set(named) == vault.catalog.object_ids() | vault.catalog.manifest_ids()


def test_a_damaged_delta_here_does_not_stop_the_saves_that_merge_it(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 1, "first")
    _store(vault, tmp_path, 1, "second")
    head, links = _links(vault_dir)
    damaged = vault.layout.catalog / f"{links[-1].age}.age"
    data = bytearray(damaged.read_bytes())
    data[-20:-18] = bytes(b ^ 0xFF for b in data[-20:-18])
    damaged.write_bytes(bytes(data))
    for n in range(chain.MERGE):  # enough saves to merge the damaged delta
        _store(vault, tmp_path, 1, f"later{n}")
    head, links = _links(vault_dir)
    assert _snapshot(_apply(vault, head, links)) == _snapshot(vault.catalog)
    assert vault.catalog.count() == 2 + chain.MERGE


def _records(vault: Vault, link: chain.Link) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    found: list[dict[str, Any]] = []
    path = vault.layout.catalog / f"{link.age}.age"
    header = chain.read_records(path, link.age, vault.unlocked_key(), found.append)
    return header, found


def _long_text(seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(4000)
    ]
    return [" ".join(words[:2000]), " ".join(words[2000:])]


def test_a_delta_holds_the_rows_and_a_new_computer_takes_their_text_from_the_manifests(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 1, "first")
    src = tmp_path / "long.txt"
    src.write_text("a long letter")
    text = _long_text(1)  # 64 kB of words that do not compress away
    stored = vault.store_file(src, name="long.txt", media_type="text/plain", text=text)
    vault.fold_journal()
    vault.edit(stored.doc_id, family="F4321")
    _, links = _links(vault_dir)
    assert len(links) == 4  # the base, the first store, the long letter, the edit
    for link in links[1:]:
        header, records = _records(vault, link)
        assert header["chain"] == chain.FORMAT == 2
        assert records and all("text" not in r for r in records if "doc" in r)
        assert (vault.layout.catalog / f"{link.age}.age").stat().st_size < 2048
        index = json.loads((vault.layout.catalog / f"{link.idx}.idx").read_bytes())
        assert index["texts"] == sum("doc" in r for r in records)
    expected = _snapshot(vault.catalog)
    again = _fresh_from_chain(vault_dir)
    assert _snapshot(again.catalog) == expected  # the text is back, from the manifest
    assert again.text(stored.doc_id) == text


def test_a_chain_an_earlier_version_wrote_with_text_in_its_deltas_is_still_read(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 1, "first")
    with monkeypatch.context() as old:
        old.setattr(chain, "FORMAT", 1)
        old.setattr(Vault, "_texts_for_saving", lambda self, key: lambda manifest_id: None)
        _store(vault, tmp_path, 2, "older")
    _store(vault, tmp_path, 1, "newer")
    _, links = _links(vault_dir)
    formats = []
    for link in links[1:]:
        header, records = _records(vault, link)
        formats.append(header["chain"])
        docs = [r for r in records if "doc" in r]
        assert all(("text" in r) == (header["chain"] == 1) for r in docs)
    assert formats[-2:] == [1, 2]
    expected = _snapshot(vault.catalog)
    assert _snapshot(_fresh_from_chain(vault_dir).catalog) == expected


def test_a_delta_row_whose_manifest_is_missing_or_altered_here(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = _open(vault_dir)
    _store(vault, tmp_path, 2, "first")
    vault.save_catalog(compact=True)  # both in the base
    (late,) = _store(vault, tmp_path, 1, "late")
    manifest = vault.manifests.path(vault.catalog.get(late)["manifest"])
    data = manifest.read_bytes()
    manifest.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(IntegrityError, match="is corrupt"):
        _fresh_from_chain(vault_dir).catalog
    manifest.unlink()  # gone: not a catalog rebuilt without the document (a sync
    # would then take it out of the backup), but one line naming what is missing
    head = (vault_dir / "head.json").read_bytes()
    with pytest.raises(chain.MissingManifestError, match=f"of document {late} is missing"):
        _fresh_from_chain(vault_dir).catalog
    assert (vault_dir / "head.json").read_bytes() == head


def test_a_row_whose_manifest_an_edit_removed_is_taken_from_the_later_row(
    vault_dir: Path, tmp_path: Path
) -> None:
    """An edit writes a new manifest and removes the old one, which the
    delta before it still names: the chain is read through, the later row wins."""
    vault = _open(vault_dir)
    (doc,) = _store(vault, tmp_path, 1, "edited")
    vault.edit(doc, family="F123")
    expected = _snapshot(vault.catalog)
    again = _fresh_from_chain(vault_dir)
    assert _snapshot(again.catalog) == expected
    assert not any(e.event == "rebuild" for e in again.audit.entries())


def test_a_new_base_is_written_once_many_rows_take_their_text_from_manifests(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vault.head

    monkeypatch.setattr(vault.head, "TEXTS_FLOOR", 2)  # as if the vault held 2 documents
    opened = _open(vault_dir)
    (doc,) = _store(opened, tmp_path, 1, "first")
    opened.save_catalog(compact=True)
    base = _head(vault_dir).catalog
    for n in range(3):
        opened.edit(doc, family=f"F{n + 1}")
    assert _head(vault_dir).catalog == base  # the deltas now hold 3 text-less rows
    opened.edit(doc, family="F9")
    assert _head(vault_dir).catalog != base


def test_deltas_holding_much_together_are_not_merged(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge is sent again whole: past ``MERGE_BYTES`` the deltas stay apart."""
    monkeypatch.setattr(chain, "MERGE", 2)
    vault = _open(vault_dir)
    for day in range(3):
        _store(vault, tmp_path, 1, f"small{day}")
    assert [saves for _, _, saves in _head(vault_dir).deltas] == [2, 1]
    monkeypatch.setattr(chain, "MERGE_BYTES", 400)  # two deltas hold more than this
    for day in range(3):
        _store(vault, tmp_path, 1, f"large{day}")
    assert [saves for _, _, saves in _head(vault_dir).deltas] == [2, 1, 1, 1, 1]
    assert _snapshot(_fresh_from_chain(vault_dir).catalog) == _snapshot(vault.catalog)

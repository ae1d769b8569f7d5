"""A batch scan kept once as its own object, named by each document split
from it: kept while any of them exists (erase, prune, a catalog rebuild, a
key rotation), removed with the last, exported byte for byte."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_pdf
from vault import batches, erasure, prune
from vault.manifest import batch_ref
from vault.parts import split_ref
from vault.repository import Vault


def _store_split(vault: Vault, tmp_path: Path, batch_file: Path) -> tuple[list[str], str]:
    """Two documents split from ``batch_file``: their ids and the batch's object."""
    batch = batches.store_batch(vault, batch_file, name="batch.pdf", media_type="application/pdf")
    ids = []
    for number, (word, pages) in enumerate((("Quillfeather", (1, 2)), ("Bramblewick", (4, 6)))):
        part = make_pdf(tmp_path / f"part{number}.pdf", f"Letter {word}")
        stored = vault.store_file(
            part, name=f"batch-p{pages[0]}-{pages[1]}.pdf", media_type="application/pdf",
            text=[f"Letter {word}"], batch=batch.of_pages(*pages),
        )  # fmt: skip
        ids.append(stored.doc_id)
    vault.fold_journal()
    vault.save_catalog()
    return ids, batch.ref


def test_the_batch_is_named_by_every_part_and_erased_with_the_last(
    unlocked_vault: Vault, tmp_path: Path
) -> None:
    vault = unlocked_vault
    batch_file = make_pdf(tmp_path / "batch.pdf", "the whole batch as scanned")
    ids, ref = _store_split(vault, tmp_path, batch_file)
    rows = [vault.document(doc_id) for doc_id in ids]
    assert [row["batch"]["pages"] for row in rows] == [[1, 2], [4, 6]]
    assert {batch_ref(row["batch"]) for row in rows} == {ref}
    assert ref in vault.catalog.object_ids()
    assert vault.objects.exists(ref)

    out = tmp_path / "out.pdf"
    vault.export(ids[1], out, version="batch")
    assert out.read_bytes() == batch_file.read_bytes()

    assert prune.prune(vault).files == 0
    assert vault.objects.exists(ref)
    erasure.erase(vault, [ids[0]])
    assert vault.objects.exists(ref), "the other document still names the batch"
    assert all(vault.objects.exists(i) for i in split_ref(vault.document(ids[1])["original"]))
    erasure.erase(vault, [ids[1]])
    assert not vault.objects.exists(ref)


def test_a_rebuilt_catalog_keeps_the_batch(unlocked_vault: Vault, tmp_path: Path) -> None:
    vault = unlocked_vault
    ids, ref = _store_split(vault, tmp_path, make_pdf(tmp_path / "batch.pdf", "batch"))
    vault.rebuild_catalog()
    assert vault.document(ids[0])["batch"]["object"] == ref
    assert ref in vault.referenced()
    assert prune.prune(vault).files == 0


def test_a_run_started_again_finds_the_batch_it_stored(
    unlocked_vault: Vault, tmp_path: Path
) -> None:
    vault = unlocked_vault
    batch_file = make_pdf(tmp_path / "batch.pdf", "batch")
    ids, ref = _store_split(vault, tmp_path, batch_file)
    found = batches.stored_before(vault, ids[0], batch_file)
    assert found is not None and found.ref == ref
    other = make_pdf(tmp_path / "other.pdf", "another batch")
    assert batches.stored_before(vault, ids[0], other) is None

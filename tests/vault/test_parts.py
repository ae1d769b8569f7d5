"""Large documents stored in parts: sizes, round trips, damage, interop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyrage
import pytest
from pyrage import x25519

from tests.integration.agecmd import age_decrypt_with_identity_to_file, write_identity_file
from vault import crypto
from vault.errors import IntegrityError, VaultError
from vault.objects import ObjectStore
from vault.parts import _run_all, join_ref, spans, split_ref

KIB = 1024
PART = 256 * KIB


@pytest.fixture
def keys() -> tuple[x25519.Identity, x25519.Recipient]:
    identity = x25519.Identity.generate()
    return identity, identity.to_public()


def make_store(tmp_path: Path, jobs: int = 2) -> ObjectStore:
    store = ObjectStore(tmp_path / "objects", tmp_path / "tmp", part_size=PART, jobs=jobs)
    store.open()
    return store


def store_large(
    tmp_path: Path, recipient: x25519.Recipient, size: int
) -> tuple[ObjectStore, list[str]]:
    """A store holding one file of ``size`` random bytes; the ids of its parts."""
    store = make_store(tmp_path)
    src = tmp_path / "large.bin"
    src.write_bytes(os.urandom(size))
    return store, split_ref(store.put_file(src, [recipient]).id)


def test_spans_cover_the_file_once() -> None:
    assert spans(0, 10) == [(0, 0)]
    assert spans(10, 10) == [(0, 10)]
    assert spans(25, 10) == [(0, 10), (10, 10), (20, 5)]
    assert split_ref(join_ref(["a" * 64, "b" * 64])) == ["a" * 64, "b" * 64]


@pytest.mark.parametrize(
    "size", [0, 1, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 128 * KIB, 300 * KIB + 7]
)
def test_plaintext_size_from_the_file_size(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient], size: int
) -> None:
    path = tmp_path / "x.age"
    path.write_bytes(pyrage.encrypt(os.urandom(size), [keys[1]]))
    assert crypto.plaintext_size(path) == size


@pytest.mark.parametrize("jobs", [1, 2])
def test_large_file_round_trips_in_parts(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient], jobs: int
) -> None:
    identity, recipient = keys
    store = make_store(tmp_path, jobs)
    data = os.urandom(3 * PART + 12345)
    src = tmp_path / "large.bin"
    src.write_bytes(data)

    stored = store.put_file(src, [recipient])

    ids = split_ref(stored.id)
    assert len(ids) == 4 and list(stored.objects) == ids
    assert sorted(store.ids()) == sorted(ids)
    assert stored.size == sum(store.path(i).stat().st_size for i in ids)
    assert [b for b, _ in store.verify()] == sorted(ids)
    assert all(problem is None for _, problem in store.verify())
    assert not any(store.tmp.iterdir())  # no temp file left behind
    out = tmp_path / "back.bin"
    store.get_file(stored.id, out, [identity])
    assert out.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back.bin", "large.bin", "objects", "tmp"]


def test_small_file_is_one_object(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient]
) -> None:
    store = make_store(tmp_path)
    src = tmp_path / "small.bin"
    src.write_bytes(os.urandom(PART))  # exactly one part's worth
    stored = store.put_file(src, [keys[1]])
    assert split_ref(stored.id) == [stored.id] and stored.objects == {stored.id: stored.size}


def test_each_part_is_an_age_file_the_age_command_opens(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient]
) -> None:
    identity, recipient = keys
    store = make_store(tmp_path)
    data = os.urandom(2 * PART + 99)
    src = tmp_path / "large.bin"
    src.write_bytes(data)
    stored = store.put_file(src, [recipient])
    key_file = write_identity_file(tmp_path / "key.txt", str(identity))
    joined = b""
    for object_id in split_ref(stored.id):
        out = tmp_path / "part.out"
        age_decrypt_with_identity_to_file(store.path(object_id), key_file, out, timeout=60)
        joined += out.read_bytes()
    assert joined == data


def test_damaged_part_is_named_and_nothing_is_written(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient]
) -> None:
    identity, recipient = keys
    store, ids = store_large(tmp_path, recipient, 3 * PART)
    victim = ids[1]
    path = store.path(victim)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    path.write_bytes(bytes(damaged))

    out = tmp_path / "out.bin"
    with pytest.raises(IntegrityError, match=f"object {victim[:12]} is corrupt"):
        store.get_file(join_ref(ids), out, [identity])
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".tmp-", ".decrypt-"))] == []
    bad = [problem for _, problem in store.verify() if problem]
    assert [(b.id, b.problem) for b in bad] == [(victim, "corrupt")]


def test_missing_part_is_named(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient]
) -> None:
    identity, recipient = keys
    store, ids = store_large(tmp_path, recipient, 2 * PART + 1)
    victim = ids[-1]
    store.path(victim).unlink()
    with pytest.raises(IntegrityError, match=f"object {victim[:12]} is missing"):
        store.get_file(join_ref(ids), tmp_path / "out.bin", [identity])
    assert not (tmp_path / "out.bin").exists()


def test_wrong_key_opens_no_part(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient]
) -> None:
    store, ids = store_large(tmp_path, keys[1], 2 * PART + 1)
    with pytest.raises(Exception, match="the key does not open this file"):
        store.get_file(join_ref(ids), tmp_path / "out.bin", [x25519.Identity.generate()])
    assert not (tmp_path / "out.bin").exists()


def test_a_part_is_decrypted_in_few_large_writes(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """age hands the plaintext over 8 KiB at a time: 4 MiB is 512 writes
    unless they are gathered (into 1 MiB pieces: 4 or 5 writes)."""
    identity, recipient = keys
    data = os.urandom(4 * 1024 * KIB + 5)
    src, part, out = tmp_path / "plain.bin", tmp_path / "part.age", tmp_path / "out.bin"
    src.write_bytes(data)
    part.write_bytes(b"")
    crypto.encrypt_part(src, 0, len(data), part, [str(recipient)])
    out.write_bytes(b"\0" * 7)
    writes: list[int] = []
    for name in ("pwrite", "pwritev", "write", "writev"):
        if hasattr(os, name):
            real = getattr(os, name)
            monkeypatch.setattr(os, name, _counting(real, writes))

    written, _ = crypto.decrypt_part(part, out, 7, [str(identity)])

    monkeypatch.undo()
    assert written == len(data) and out.read_bytes() == b"\0" * 7 + data
    assert 1 <= len(writes) <= 8


def test_a_part_that_fails_to_decrypt_writes_nothing_it_gathered(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient]
) -> None:
    identity, recipient = keys
    src, part, out = tmp_path / "plain.bin", tmp_path / "part.age", tmp_path / "out.bin"
    src.write_bytes(os.urandom(512 * KIB))
    part.write_bytes(b"")
    crypto.encrypt_part(src, 0, 512 * KIB, part, [str(recipient)])
    damaged = bytearray(part.read_bytes())
    damaged[-100] ^= 0x01  # the last chunk: every chunk before it authenticates
    part.write_bytes(bytes(damaged))
    out.write_bytes(b"")
    with pytest.raises(IntegrityError):
        crypto.decrypt_part(part, out, 0, [str(identity)])
    assert out.read_bytes() == b""


def _counting(real: Any, calls: list[int]) -> Any:
    def count(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    return count


def _read_bytes_so_far() -> int:
    """This thread's bytes read: the process's total also counts the reads of
    any other thread running (in the whole suite, 131 kB more)."""
    for line in Path("/proc/thread-self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/thread-self/io")


@pytest.mark.skipif(not Path("/proc/thread-self/io").exists(), reason="needs /proc/thread-self/io")
def test_a_get_of_one_object_reads_it_once_and_refuses_one_swapped_for_another(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient]
) -> None:
    """The object is hashed as it is decrypted, not read once to check it and
    again to decrypt it; the check still refuses a valid age file of other
    content put in its place (anyone with the public key can make one)."""
    identity, recipient = keys
    store = make_store(tmp_path, jobs=1)
    src = tmp_path / "one.bin"
    data = os.urandom(PART)  # one object, not parts
    src.write_bytes(data)
    stored = store.put_file(src, [recipient])
    size = store.path(stored.id).stat().st_size
    out = tmp_path / "out.bin"
    # a first get loads the modules that read objects, which reads files too
    store.get_file(store.put_bytes(b"warm-up", [recipient]).id, out, [identity])
    out.unlink()
    # Measured twice, the smaller count kept: a one-off read by the
    # interpreter on a loaded machine (131 kB once in CI) is not the get's.
    reads = []
    for _ in range(2):
        before = _read_bytes_so_far()
        store.get_file(stored.id, out, [identity])
        reads.append(_read_bytes_so_far() - before)
        assert out.read_bytes() == data
    read = min(reads)
    assert size <= read < 1.5 * size, (read, size)
    store.path(stored.id).write_bytes(pyrage.encrypt(os.urandom(PART), [recipient]))
    out.unlink()
    with pytest.raises(IntegrityError, match=f"object {stored.id[:12]} is corrupt"):
        store.get_file(stored.id, out, [identity])
    assert not out.exists()


@pytest.mark.parametrize("cut", [0, 100, -1])
def test_an_object_emptied_or_cut_short_is_named_as_corrupt(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient], cut: int
) -> None:
    """Its size is read before its hash is checked: a file emptied, left with
    only its header, or one byte short still names the object."""
    identity, recipient = keys
    store = make_store(tmp_path, jobs=1)
    src = tmp_path / "one.bin"
    src.write_bytes(os.urandom(1000))
    stored = store.put_file(src, [recipient])
    path = store.path(stored.id)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(IntegrityError, match=f"object {stored.id[:12]} is corrupt"):
        store.get_file(stored.id, tmp_path / "out.bin", [identity])
    assert not (tmp_path / "out.bin").exists()


def test_the_store_s_objects_are_read_by_the_vault_s_own_age_reader(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient], own_reader_calls: list[bool]
) -> None:
    """pyrage writes one X25519 stanza and a grease one: ``vault.age_x25519``
    reads that form (in 1 MiB pieces), and the result is what was stored."""
    identity, recipient = keys
    read_here = own_reader_calls
    store = make_store(tmp_path, jobs=1)
    data = os.urandom(2 * PART + 12345)
    src = tmp_path / "in.bin"
    src.write_bytes(data)
    stored = store.put_file(src, [recipient])
    out = tmp_path / "out.bin"
    store.get_file(stored.id, out, [identity])
    assert out.read_bytes() == data
    assert read_here == [True, True, True]


def test_parts_are_read_by_threads_not_worker_processes(
    tmp_path: Path, keys: tuple[x25519.Identity, x25519.Recipient], monkeypatch: pytest.MonkeyPatch
) -> None:
    import vault.parts

    identity, recipient = keys
    store, ids = store_large(tmp_path, recipient, 3 * PART + 5)

    def no_pool(jobs: int) -> Any:
        raise AssertionError("a get started worker processes")

    monkeypatch.setattr(vault.parts, "process_pool", no_pool)
    out = tmp_path / "out.bin"
    store.get_file(join_ref(ids), out, [identity])
    assert out.read_bytes() == (tmp_path / "large.bin").read_bytes()


def _killed(n: int) -> int:
    """A worker that dies as the out-of-memory killer would leave it."""
    os._exit(137)


def test_a_worker_killed_is_said_in_one_line_not_a_traceback() -> None:
    with pytest.raises(VaultError, match="worker process stopped"):
        _run_all(_killed, [(1,), (2,)], jobs=2)

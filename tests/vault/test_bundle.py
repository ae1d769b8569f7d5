"""``vault.bundle``: names that stay inside the bundle's folder, a damaged
object refused with nothing left behind, memory that does not grow with
the bundle, and made passphrases. (Opening bundles with the real ``age``
and ``tar``: tests/cli/test_bundle_cli.py.)"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, make_pdf
from vault import bundle, scrypt_file
from vault.errors import IntegrityError
from vault.repository import Vault

WORDS = "tulip river kettle drum lantern meadow"


def _open(path: Path) -> tarfile.TarFile:
    plain = scrypt_file.decrypt(path.read_bytes(), WORDS, max_work_factor=scrypt_file.WORK_FACTOR)
    return tarfile.open(fileobj=io.BytesIO(plain), mode="r:")


def test_hostile_titles_stay_inside_the_folder(unlocked_vault: Vault, tmp_path: Path) -> None:
    vault = unlocked_vault
    titles = [
        "../../etc/passwd", "/root/.ssh/authorized_keys", "..", "a\\..\\..\\b", "\x1b[2J<b>",
        "letter\u202egpj.exe",
    ]  # fmt: skip
    ids = []
    for n, title in enumerate(titles):
        pdf = make_pdf(tmp_path / f"{n}.pdf", f"letter {n}")
        ids.append(vault.store_file(pdf, name=pdf.name, media_type="application/pdf").doc_id)
    vault.fold_journal()
    for doc_id, title in zip(ids, titles, strict=True):
        vault.edit(doc_id, title=title)
    out = tmp_path / "out" / "F-0042 records.age"
    out.parent.mkdir()
    rows = [vault.document(i) for i in ids]
    written = bundle.write_bundle(vault, rows, out, WORDS)
    assert written.path == out and written.files == len(ids)
    with _open(out) as tar:
        members = tar.getmembers()
        assert members[0].isdir() and members[0].name == "F-0042 records"
        for member in members[1:]:
            assert member.isfile() and member.mode == 0o600
            folder, _, name = member.name.partition("/")
            assert folder == "F-0042 records" and name and "/" not in name and "\\" not in name
            assert not name.startswith(".") and "\x1b" not in name and "\u202e" not in name
        names = [m.name.split("/", 1)[1] for m in members[1:]]
        assert sorted(n.split(" ")[0] for n in names if n != "index.html") == sorted(ids)
        index = tar.extractfile(f"F-0042 records/{bundle.INDEX}")
        assert index is not None
        page = index.read().decode()
    assert "\x1b" not in page and "\u202e" not in page
    assert "<b>" not in page and "&lt;b&gt;" in page


def test_a_damaged_object_is_refused_and_nothing_is_left(
    unlocked_vault: Vault, tmp_path: Path
) -> None:
    vault = unlocked_vault
    ids = []
    for n in range(2):
        pdf = make_pdf(tmp_path / f"{n}.pdf", f"letter {n}")
        ids.append(vault.store_file(pdf, name=pdf.name, media_type="application/pdf").doc_id)
    vault.fold_journal()
    rows = [vault.document(i) for i in ids]
    damaged = vault.objects.path(rows[1]["original"])
    data = bytearray(damaged.read_bytes())
    data[-5] ^= 1
    damaged.chmod(0o600)
    damaged.write_bytes(bytes(data))
    out = tmp_path / "out" / "b.age"
    out.parent.mkdir()
    with pytest.raises(IntegrityError):
        bundle.write_bundle(vault, rows, out, WORDS)
    assert list(out.parent.iterdir()) == []
    assert [p for p in vault.layout.tmp.iterdir() if p.is_file()] == []
    assert "export" not in [e.event for e in vault.audit.entries()]


def test_made_passphrases_are_six_words_of_the_list() -> None:
    words = set(bundle._word_list())
    assert len(words) == 7776
    made = {bundle.new_passphrase() for _ in range(50)}
    assert len(made) == 50
    for passphrase in made:
        chosen = passphrase.split(" ")
        assert len(chosen) == 6 and set(chosen) <= words


def test_bundle_names() -> None:
    assert bundle.bundle_path(Path("/x/court.age"), "records") == (Path("/x/court.age"), None)
    fixed, note = bundle.bundle_path(Path("/x/court.tar"), "records")
    assert fixed == Path("/x/court.tar.age") and note and "court.tar.age" in note
    assert bundle.folder_name(Path("/x/court.tar.age")) == "court"
    assert bundle.folder_name(Path("/x/..age")) == "document"


_BUNDLE = r"""
import json, sys
from pathlib import Path
from vault import bundle
from vault.repository import Vault
vault = Vault.open(Path(sys.argv[1]))
vault.unlock(sys.stdin.read())
rows = list(vault.documents())
with open("/proc/self/status") as f:
    before = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
words = "tulip river kettle drum lantern meadow"
written = bundle.write_bundle(vault, rows, Path(sys.argv[2]), words)
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({"before_kib": before, "peak_kib": peak, "size": written.size}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memory_does_not_grow_with_the_bundle(vault_dir: Path, tmp_path: Path) -> None:
    """A 160 MiB document: the bundle is streamed, so the peak is scrypt's
    256 MiB and little more, never the document (or the archive) held whole."""
    size = 160 * 1024 * 1024
    big = tmp_path / "big.pdf"
    with open(big, "wb") as f:
        f.write(b"%PDF-1.4\n")
        for _ in range(size // (16 * 1024 * 1024)):
            f.write(os.urandom(16 * 1024 * 1024))
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.store_file(big, name=big.name, media_type="application/pdf")
        vault.fold_journal()
    big.unlink()
    out = tmp_path / "big.age"
    done = subprocess.run(
        [sys.executable, "-c", _BUNDLE, str(vault_dir), str(out)],
        input=PASSPHRASE, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    measured = json.loads(done.stdout)
    assert measured["size"] > size  # the whole document is in it
    peak_mib = measured["peak_kib"] / 1024
    scrypt_mib = 128 * 8 * 2**scrypt_file.WORK_FACTOR / 2**20  # 256
    assert peak_mib < measured["before_kib"] / 1024 + scrypt_mib + 48, measured


def test_a_bundle_for_another_disk_is_not_made_in_memory(
    unlocked_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle for a data stick (another file system than the vault's) is made
    on the vault's disk and copied, never on the tmpfs, which is memory: a
    family's bundle can be larger than the computer's memory. Here the tmpfs
    (``XDG_RUNTIME_DIR``) has 256 KiB and the bundle is 2 MiB."""
    from tests.mounts import small_tmpfs

    vault = unlocked_vault
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + os.urandom(2 * 1024 * 1024))
    doc_id = vault.store_file(big, name=big.name, media_type="application/pdf").doc_id
    vault.fold_journal()
    with (
        small_tmpfs(tmp_path / "runtime", "256k") as runtime,
        small_tmpfs(tmp_path / "stick", "8m") as stick,
    ):
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        out = stick / "F-0042.age"
        written = bundle.write_bundle(vault, [vault.document(doc_id)], out, WORDS)
        assert written.size > 2 * 1024 * 1024 and out.stat().st_size == written.size
        with _open(out) as tar:
            (member,) = [m for m in tar.getmembers() if m.name.endswith(".pdf")]
            data = tar.extractfile(member)
            assert data is not None and data.read() == big.read_bytes()
        assert list(runtime.iterdir()) == []
        assert sorted(p.name for p in stick.iterdir()) == ["F-0042.age"]
    assert [p for p in vault.layout.tmp.iterdir() if p.is_file()] == []

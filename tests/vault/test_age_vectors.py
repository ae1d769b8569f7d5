"""Run every community age test vector (C2SP CCTV) through the vault's decrypt path.

A vector whose ``expect`` is ``success`` must decrypt to its payload hash; any
other vector must be refused with one of the vault's own errors.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from vault import crypto
from vault.errors import VaultError

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "age"

# Post-quantum hybrid recipients (ML-KEM-768 + X25519) are not used by the
# vault, which writes only X25519 and scrypt files; their identities do not
# parse in pyrage's X25519 API.
UNSUPPORTED_PREFIXES = ("hybrid", "armor_hybrid")


def _load(path: Path) -> tuple[dict[str, list[str]], bytes]:
    raw = path.read_bytes()
    header, _, body = raw.partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in header.decode().splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    return fields, body


def _decrypt(fields: dict[str, list[str]], body: bytes) -> bytes:
    if "passphrase" in fields:
        # The vault's passphrase path is the key-file path.
        return crypto.decrypt_with_passphrase(body, fields["passphrase"][0])
    # Two vectors carry no key at all: any identity must be refused by them.
    texts = fields.get("identity") or [crypto.generate_identity()[0]]
    identities = [crypto.parse_identity(text) for text in texts]
    return crypto.decrypt_bytes(body, identities)


def _cases() -> list[object]:
    cases = []
    for path in sorted(VECTORS.iterdir()):
        marks = []
        if path.name.startswith(UNSUPPORTED_PREFIXES):
            marks.append(pytest.mark.skip(reason="hybrid ML-KEM recipients are not used"))
        cases.append(pytest.param(path, id=path.name, marks=marks))
    return cases


def test_all_vectors_are_present() -> None:
    assert len(list(VECTORS.iterdir())) == 143


@pytest.mark.parametrize("path", _cases())
def test_vector(path: Path) -> None:
    fields, body = _load(path)
    expect = fields["expect"][0]
    if fields.get("compressed") == ["zlib"]:
        import zlib

        body = zlib.decompress(body)
    if expect == "success":
        plaintext = _decrypt(fields, body)
        assert hashlib.sha256(plaintext).hexdigest() == fields["payload"][0]
    else:
        with pytest.raises(VaultError):
            _decrypt(fields, body)


def test_decrypt_stream_keeps_reading_past_header() -> None:
    secret, public = crypto.generate_identity()
    data = bytes(range(256)) * 1024  # larger than the header read-ahead
    blob = crypto.encrypt_bytes(data, [crypto.parse_recipient(public)])
    out = io.BytesIO()
    crypto.decrypt_stream(io.BytesIO(blob), out, [crypto.parse_identity(secret)])
    assert out.getvalue() == data


def _x25519_cases() -> list[object]:
    """Vectors the objects' reader takes: binary, one identity of X25519."""
    cases = []
    for path in sorted(VECTORS.iterdir()):
        fields, _ = _load(path)
        identity = fields.get("identity", [""])
        if fields.get("armored") or len(identity) != 1:
            continue
        if not identity[0].startswith("AGE-SECRET-KEY-1"):
            continue
        cases.append(pytest.param(path, id=path.name))
    return cases


@pytest.mark.parametrize("path", _x25519_cases())
def test_vector_through_the_objects_reader(
    path: Path, tmp_path: Path, own_reader_calls: list[bool]
) -> None:
    """``crypto.decrypt_part`` (how every object is read) is as strict as age,
    and reads a file of one X25519 stanza itself (``vault.age_x25519``)."""
    read_here = own_reader_calls
    fields, body = _load(path)
    if fields.get("compressed") == ["zlib"]:
        import zlib

        body = zlib.decompress(body)
    src, dst = tmp_path / "in.age", tmp_path / "out"
    src.write_bytes(body)
    dst.write_bytes(b"")
    if fields["expect"][0] != "success":
        with pytest.raises(VaultError):
            crypto.decrypt_part(src, dst, 0, fields["identity"])
        return
    written, digest = crypto.decrypt_part(src, dst, 0, fields["identity"])
    plaintext = dst.read_bytes()
    assert written == len(plaintext)
    assert hashlib.sha256(plaintext).hexdigest() == fields["payload"][0]
    assert digest == hashlib.sha256(body).hexdigest()
    if path.name in ("x25519", "x25519_grease", "stream_last_chunk_full"):
        assert read_here == [True]  # the usual forms are read by the vault itself

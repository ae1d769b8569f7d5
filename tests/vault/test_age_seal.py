"""The vault's own age writer (``vault.age_seal``) writes standard age files:
the reference ``age`` command, pyrage and the vault's own reader each open
them, for every boundary of age's 64 KiB chunks and pieces of any size."""

from __future__ import annotations

import os
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from tests.integration.agecmd import age_decrypt_with_identity, write_identity_file
from vault import age_seal, age_x25519, crypto
from vault.errors import CryptoFormatError

CHUNK = 64 * 1024


def sealed_file(path: Path, recipient: str, plaintext: bytes, piece: int) -> Path:
    file_key = os.urandom(16)
    pieces = [plaintext[i : i + piece] for i in range(0, len(plaintext), piece)]
    with open(path, "wb") as f:
        f.write(age_seal.header(recipient, file_key))
        for sealed in age_seal.sealed(file_key, pieces):
            f.write(sealed)
    return path


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 16 * CHUNK + 5, 40 * CHUNK]
)
def test_age_pyrage_and_the_vault_open_what_it_writes(tmp_path: Path, size: int) -> None:
    identity = x25519.Identity.generate()
    plaintext = os.urandom(size)
    for piece in (7, CHUNK, 1024 * 1024):
        path = sealed_file(tmp_path / f"f-{piece}.age", str(identity.to_public()), plaintext, piece)
        key_file = write_identity_file(tmp_path / f"key-{piece}.txt", str(identity))
        if size:  # (age writes no output file at all for an empty one)
            assert age_decrypt_with_identity(path, key_file) == plaintext
        assert pyrage.decrypt(path.read_bytes(), [identity]) == plaintext
        out = tmp_path / f"out-{piece}"
        out.touch()
        with open(path, "rb") as src, open(out, "r+b") as dst:
            head = src.read(crypto.MAX_HEADER_BYTES)
            found = age_x25519.decrypt_into(src.fileno(), head, str(identity), dst.fileno(), 0)
        assert found is not None and found[0] == size
        assert out.read_bytes() == plaintext


def test_another_key_does_not_open_it(tmp_path: Path) -> None:
    path = sealed_file(tmp_path / "f.age", str(x25519.Identity.generate().to_public()), b"x", 1)
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(path.read_bytes(), [x25519.Identity.generate()])


def test_each_file_has_its_own_file_key_and_nonce(tmp_path: Path) -> None:
    recipient = str(x25519.Identity.generate().to_public())
    one = sealed_file(tmp_path / "a.age", recipient, b"same", 4).read_bytes()
    two = sealed_file(tmp_path / "b.age", recipient, b"same", 4).read_bytes()
    assert one != two and one[-20:] != two[-20:]


def test_a_recipient_that_is_not_one_is_refused() -> None:
    with pytest.raises(CryptoFormatError):
        age_seal.header("age1notarecipient", os.urandom(16))


def _bech32(hrp: str, data: bytes) -> str:
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    values, acc, bits = [], 0, 0
    for byte in data:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            values.append((acc >> bits) & 31)
    if bits:
        values.append((acc << (5 - bits)) & 31)
    check = 1
    for value in [*(ord(c) >> 5 for c in hrp), 0, *(ord(c) & 31 for c in hrp), *values, *[0] * 6]:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            if (top >> i) & 1:
                check ^= gen
    check ^= 1
    return (
        hrp
        + "1"
        + "".join(charset[v] for v in [*values, *((check >> 5 * (5 - i)) & 31 for i in range(6))])
    )


@pytest.mark.parametrize("point", [bytes(32), b"\x01" + bytes(31)])
def test_a_recipient_of_low_order_is_refused_as_the_module_says(point: bytes) -> None:
    recipient = _bech32("age", point)
    assert age_x25519.recipient_bytes(recipient) == point  # a well-formed recipient
    with pytest.raises(CryptoFormatError, match="low order"):
        age_seal.header(recipient, os.urandom(16))

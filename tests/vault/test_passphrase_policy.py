from __future__ import annotations

import pytest

from vault.errors import WeakPassphraseError
from vault.passphrase_policy import check_passphrase


@pytest.mark.parametrize(
    "weak,rule",
    [
        ("Ab1", "at least 8 characters"),
        ("abcdefghij", "at least two of"),
        ("ABCDEFGHIJ", "at least two of"),
        ("1234567890", "at least two of"),
        ("Password1", "common"),
        ("passw0rd", "common"),
        ("Welcome2026!", "common"),
        ("12345678a", "common"),
        ("Children1", "common"),
    ],
)
def test_weak_passphrases_name_the_rule(weak: str, rule: str) -> None:
    with pytest.raises(WeakPassphraseError) as info:
        check_passphrase(weak)
    assert rule in info.value.message
    assert weak not in info.value.message


@pytest.mark.parametrize(
    "good", ["Correct Horse 42", "tulip7river9", "BLUE kettle 3", "k3ttl3-drum"]
)
def test_good_passphrases(good: str) -> None:
    check_passphrase(good)

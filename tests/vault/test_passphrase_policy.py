from __future__ import annotations

import pytest

from vault.errors import WeakPassphraseError
from vault.passphrase_policy import MIN_BITS, RULES, check_passphrase, strength_bits


@pytest.mark.parametrize(
    "weak,rule",
    [
        ("Ab1", "at least 8 characters"),
        ("abcdefghij", "too easy to guess"),
        ("ABCDEFGHIJ", "too easy to guess"),
        ("alllowercase", "too easy to guess"),
        ("aaaaaaaaaaaaaaaaaaaa", "too easy to guess"),
        ("horse horse horse horse", "too easy to guess"),
        ("Tulips12", "too easy to guess"),
        ("1234567890", "common"),
        ("password123", "common"),
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
    assert info.value.hint and weak not in info.value.hint


@pytest.mark.parametrize(
    "good",
    [
        "correct horse battery staple",
        "tulip river kettle drum",
        "correcthorsebatterystaple",
        "Correct Horse 42",
        "tulip7river9",
        "BLUE kettle 3",
        "k3ttl3-drum",
        "hR7#kq2!",
    ],
)
def test_good_passphrases(good: str) -> None:
    check_passphrase(good)


def test_words_count_more_than_a_word_with_digits() -> None:
    assert strength_bits("correct horse battery staple") > 2 * MIN_BITS
    assert strength_bits("password123") < MIN_BITS / 2


def test_rules_text_gives_the_length_and_an_example_of_words() -> None:
    assert "at least 8 characters" in RULES
    check_passphrase("tulip river kettle drum")  # the example the rules give is accepted
    assert "tulip river kettle drum" in RULES

"""The agent's idle lock counts the time the computer was asleep: a laptop
closed with the vault unlocked, opened the next morning, is locked."""

from __future__ import annotations

import time

import pytest

from vault.agent import Entry, Secret


@pytest.mark.skipif(not hasattr(time, "CLOCK_BOOTTIME"), reason="Linux's boot-time clock")
def test_a_night_asleep_counts_as_idle_time(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = Entry("V-1", Secret("AGE-SECRET-KEY-X"), idle=600.0, watch=None, watch_started=None)
    assert not entry.expired()
    real = time.clock_gettime

    def after_a_night(clock: int) -> float:  # asleep: the boot-time clock went on, monotonic not
        return real(clock) + (8 * 3600 if clock == time.CLOCK_BOOTTIME else 0)

    monkeypatch.setattr(time, "clock_gettime", after_a_night)
    assert entry.expired()
    assert entry.until < time.time()

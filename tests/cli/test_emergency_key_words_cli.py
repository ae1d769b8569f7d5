"""The emergency key typed unquoted on the command line, as the sheet prints
it (groups of four): many arguments, not one. It is refused like the key in
one argument, and no part of it is echoed back in the error."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Template
from vault.cli import cli

PREFIX = "AGE-SECRET-KEY-"


@pytest.mark.parametrize("command", [["list"], ["search", "letter"], ["show", "D-AAAAAA"]])
@pytest.mark.parametrize("prefix", [True, False], ids=["with-prefix", "groups-only"])
def test_the_key_typed_in_groups_is_refused_and_not_echoed(
    runner: CliRunner, vault_dir: Path, template_vault: Template, command: list[str], prefix: bool
) -> None:
    key = template_vault.emergency_secret
    body = key.removeprefix(PREFIX + "1") if prefix else key.removeprefix(PREFIX)
    groups = [body[i : i + 4] for i in range(0, len(body), 4)]
    words = ([PREFIX + "1"] if prefix else []) + groups
    args = ["--vault", str(vault_dir), *command, "--emergency-key", *words, "--reason", "x"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "must not be given on the command line" in result.output
    shown = result.output.upper()
    pairs = itertools.pairwise(groups)
    assert not [a + b for a, b in pairs if f"{a} {b}" in shown or a + b in shown]

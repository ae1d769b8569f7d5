"""The committee report is human output too: an emergency-key reason or a
centre name with control characters (an escape sequence, a carriage return,
a bidi override) is shown escaped, as everywhere else."""

from __future__ import annotations

import json
from pathlib import Path

from sync.report import write_report
from sync.status import gather_status
from vault.repository import Vault

HOSTILE = "court\x1b[2J\rFAKE \u202edeadline"


def test_the_report_shows_control_characters_escaped(vault_dir: Path, tmp_path: Path) -> None:
    config = json.loads((vault_dir / "config.json").read_text())
    config["centre_name"] = "Centre\x1b]0;x\x07"
    (vault_dir / "config.json").write_text(json.dumps(config))
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.audit.append("emergency-use", reason=HOSTILE)
    page = tmp_path / "report.html"
    write_report(gather_status(Vault.open(vault_dir)), page)
    shown = page.read_text()
    assert not [c for c in shown if (ord(c) < 32 and c != "\n") or c == "\u202e"]
    assert "court\\x1b[2J\\x0dFAKE \\u202edeadline" in shown

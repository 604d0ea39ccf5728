"""No credential is committed: producer keys, private keys, cloud keys, passwords in URLs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = {
    "Tracemark API key": re.compile(r"\btm_[A-Za-z0-9_-]{40,}"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "password in a URL": re.compile(
        r"\b(?:postgres(?:ql)?|redis|amqp)://[^/\s:@'\"]+:(?!\$|<|\{|\*|pass@|password@|secret@|change-?me@|example@|x+@)[^@\s'\"]+@"
    ),
}


def _project_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def test_no_credentials_are_committed() -> None:
    found = []
    for path in _project_files():
        if path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{path.relative_to(ROOT)}: {what}" for what, pattern in PATTERNS.items() if pattern.search(text)]

    assert found == []

""".env.example lists every environment variable the settings read, so operators see them all."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r'env_(?:str|int|bool|list|float)\(\s*"([A-Z][A-Z0-9_]+)"')
LISTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=", flags=re.MULTILINE)


def test_every_setting_read_from_the_environment_is_in_env_example() -> None:
    read = {name for path in (ROOT / "config").glob("*.py") for name in READ.findall(path.read_text())}
    listed = set(LISTED.findall((ROOT / ".env.example").read_text()))

    assert len(read) > 20  # the pattern still finds the settings
    assert sorted(read - listed) == []


def test_env_example_lists_nothing_the_settings_do_not_read() -> None:
    read = {name for path in (ROOT / "config").glob("*.py") for name in READ.findall(path.read_text())}
    # Read by libraries or the launcher rather than config/settings.py.
    elsewhere = {"PORT", "PROMETHEUS_MULTIPROC_DIR"}
    listed = set(LISTED.findall((ROOT / ".env.example").read_text()))

    assert sorted(listed - read - elsewhere) == []

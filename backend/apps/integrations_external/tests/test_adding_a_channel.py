"""docs/adding-a-channel.md follows the tree: every path its tables list exists for an existing
channel (slack), and what it says a channel defines is what the contract asks for."""

from __future__ import annotations

import re
from pathlib import Path

from apps.integrations_external.pipeline import channels

APP_DIR = Path(__file__).resolve().parents[1]
REPO = APP_DIR.parents[2]
DOC = REPO / "docs" / "adding-a-channel.md"
# A table row's first cell: a path in backticks.
ROW = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)


def listed_paths(provider: str) -> list[str]:
    return [m.replace("<provider>", provider) for m in ROW.findall(DOC.read_text())]


def test_adding_a_channel_paths_exist_for_slack():
    paths = listed_paths("slack")

    assert len(paths) >= 20
    missing = [
        p for p in paths if not (REPO / p if p.startswith("docs/") else APP_DIR / p).exists()
    ]
    assert not missing, f"docs/adding-a-channel.md lists paths slack lacks: {missing}"


def test_adding_a_channel_names_every_abstract_method():
    text = DOC.read_text()

    for name in channels.Channel.__abstractmethods__:
        assert f"def {name}(" in text, name
    for attribute in ("name", "delivery_model", "owner_path", "project_scoped", "concurrency"):
        assert f"    {attribute} = " in text, attribute

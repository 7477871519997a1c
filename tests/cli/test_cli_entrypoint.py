"""The installed ``revspine`` console script, and lazy imports for a fast start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.req("REQ-205")

SCRIPT = Path(sys.executable).parent / "revspine"


def test_installed_entry_point(tmp_path: Path) -> None:
    case = {
        "assessment_date": "2026-01-10",
        "surgeries": [{"date": "2025-06-01", "type": "discectomy", "levels": ["L5-S1"]}],
        "symptoms": {"radicular_pain": True},
    }
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(case))
    version = subprocess.run([SCRIPT, "--version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0
    assert version.stdout.startswith("revspine ")
    done = subprocess.run(
        [SCRIPT, "assess", path, "--format", "json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["as_of"] == "2026-01-10"
    bad = subprocess.run(
        [SCRIPT, "assess", tmp_path / "nope.yaml"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "(file)" in bad.stderr


HEAVY = (
    "yaml",
    "jinja2",
    "rich",
    "revspine.engine",
    "revspine.rules",
    "revspine.casefile",
    "revspine.report",
)


def test_cli_modules_import_nothing_heavy() -> None:
    """Building the Typer app (what ``revspine --help`` does) imports none of the heavy modules
    beyond what ``import revspine`` itself loads."""
    code = (
        "import sys, revspine; before = set(sys.modules); import revspine.cli.app; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    added = done.stdout.split()
    assert [m for m in added if m.startswith(HEAVY)] == []

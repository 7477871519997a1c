"""docs/RULES.md is the generated rule catalog; it must match the registry (run `make rules`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from revspine.cli.app import app

pytestmark = pytest.mark.req("REQ-209")

DOC = Path(__file__).resolve().parents[2] / "docs" / "RULES.md"


def test_rules_md_is_current(tmp_path: Path) -> None:
    out = tmp_path / "RULES.md"
    result = CliRunner().invoke(app, ["rules", "--format", "md", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == DOC.read_text(), "docs/RULES.md is stale: run `make rules`"

"""``revspine demo``: every example assessed, JSON and HTML written, summary printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import Result

pytestmark = pytest.mark.req("REQ-205")

Run = Callable[..., Result]
CaseFactory = Callable[..., dict[str, Any]]


def test_demo_writes_json_and_html_for_each_case(
    run: Run, case: CaseFactory, tmp_path: Path
) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "fusion.yaml").write_text(yaml.safe_dump(case()))
    flagged = case(case_id="T2", symptoms={"saddle_anaesthesia": True})
    (examples / "cauda.yaml").write_text(yaml.safe_dump(flagged))
    out = tmp_path / "out"
    result = run("demo", "--examples", examples, "--out", out)
    assert result.exit_code == 0, result.stderr
    for name in ("fusion", "cauda"):
        assert json.loads((out / f"{name}.json").read_text())["schema_version"] == "1.0"
        assert (out / f"{name}.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert json.loads((out / "cauda.json").read_text())["disposition"]["code"] == "urgent"
    assert "fusion" in result.stdout
    assert "urgent" in result.stdout


def test_demo_reports_an_invalid_example(run: Run, case: CaseFactory, tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "good.yaml").write_text(yaml.safe_dump(case()))
    (examples / "bad.yaml").write_text("symptoms: {feverr: true}\n")
    result = run("demo", "--examples", examples, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "symptoms.feverr" in result.stderr
    assert (tmp_path / "out" / "good.json").exists()


def test_demo_without_examples_directory(run: Run, tmp_path: Path) -> None:
    result = run("demo", "--examples", tmp_path / "none", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "no examples directory" in result.stderr

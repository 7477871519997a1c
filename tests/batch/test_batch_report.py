"""``revspine report cohort``: a self-contained HTML page whose figures match the rows."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from batchtools import Run
from typer.testing import CliRunner

from revspine.batch.rows import WORKUP_TESTS
from revspine.cli.app import app

pytestmark = pytest.mark.req("REQ-601", "REQ-204", "REQ-302")

#: Anything that would make the page load something from elsewhere.
EXTERNAL = re.compile(r"<script|<link|<img|<iframe|<object|\bsrc=|\bhref=|url\(|@import|https?:")


def _report(run: Run, tmp_path: Path) -> str:
    out = tmp_path / "cohort.html"
    result = CliRunner().invoke(app, ["report", "cohort", str(run.out), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    return out.read_text()


def test_report_counts_match_the_rows(clean_run: Run, tmp_path: Path) -> None:
    html = _report(clean_run, tmp_path)
    rows = clean_run.rows()
    assert f"{len(rows)} patients" in html
    for disposition, n in Counter(r["disposition"] for r in rows).items():
        assert (
            f"<tr data-disposition='{disposition}'><td>{disposition}</td><td class='n'>{n}</td>"
            in html
        )
    missing = Counter(t for r in rows for t in WORKUP_TESTS if r[f"workup_{t}"])
    test, n = missing.most_common(1)[0]
    assert re.search(rf"<td>{test}</td><td class='n'>{n}</td>", html)
    for flag, n in Counter(f for r in rows for f in r["red_flags"]).items():
        assert re.search(rf"<td>{flag}</td><td class='n'>{n}</td>", html)
    smokers = sum(r["smoking_status"] == "current" for r in rows)
    assert f"<td>Current smokers</td><td class='n'>{smokers}</td>" in html
    for site in {r["site"] for r in rows} - {None}:
        assert f"<td>{site}</td>" in html
    assert "By site" in html and "By surgeon" in html
    assert html.count("<svg") >= 6


def test_report_is_self_contained(clean_run: Run, bad_run: Run, tmp_path: Path) -> None:
    for run in (clean_run, bad_run):
        html = _report(run, tmp_path)
        assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
        assert EXTERNAL.search(html) is None, EXTERNAL.search(html)
    assert "Bad records" in html and "<td>json</td>" in html


def test_report_needs_a_batch_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "cohort", str(tmp_path)])
    assert result.exit_code == 2
    assert "patients.parquet" in result.stderr

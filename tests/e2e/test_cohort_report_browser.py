"""Issue 5's "the cohort report opens in a browser": ``revspine synth`` → ``revspine batch`` →
``revspine report cohort``, and the page opened from disk in headless Chromium (as a quality
analyst would double-click it): no script or console error, nothing fetched from elsewhere, every
section and chart drawn, and its figures the same as the Parquet rows. A screenshot goes to
test-output/e2e/cohort-report.png."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from revspine.batch import BatchOptions, run_batch
from revspine.batch.synth import synthesize
from revspine.cli.app import app

pytestmark = pytest.mark.req("REQ-601", "REQ-302")

SECTIONS = [
    "Disposition",
    "Most common missing work-up",
    "Red flags",
    "Leading causes",
    "Optimisation gaps",
    "By site",
    "By surgeon",
    "Bad records",
]


def test_cohort_report_opens_in_a_browser(browser: Any, shot: Any, tmp_path: Path) -> None:
    cohort = synthesize(80, 11, tmp_path / "in", bad_rate=0.05).out
    out = tmp_path / "out"
    summary = run_batch(
        BatchOptions(input=cohort, out=out, as_of=date(2026, 11, 1), workers=1, progress=False)
    )
    assert summary.patients == 80 and summary.errors > 0
    report = tmp_path / "cohort.html"
    result = CliRunner().invoke(app, ["report", "cohort", str(out), "--out", str(report)])
    assert result.exit_code == 0, result.stderr

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("request", lambda req: requests.append(req.url))
    try:
        tab.goto(report.as_uri())
        assert tab.title() == "revspine cohort report (80 patients)"
        headings = tab.locator("h2").all_inner_texts()
        assert [h.strip() for h in headings] == SECTIONS
        charts = tab.locator("svg")
        assert charts.count() >= 6
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 50 and box["height"] > 10, i
        # The disposition table shows what the Parquet rows hold.
        rows = pq.read_table(out / "patients.parquet").to_pylist()
        for disposition, n in Counter(r["disposition"] for r in rows).items():
            cell = tab.locator(f"tr[data-disposition='{disposition}'] td.n").first
            assert cell.inner_text().strip() == str(n)
        shot(tab, "cohort-report")
    finally:
        context.close()
    assert errors == [], f"script or console errors: {errors}"
    assert requests == [report.as_uri()], f"the page fetched something else: {requests}"

"""``revspine report cohort``: a self-contained HTML report over a batch output folder.

Every number comes from a DuckDB query over ``patients.parquet`` (a file from ``revspine
batch``, or a folder of parts from the Spark job) and ``errors.jsonl``: the disposition
distribution, the most common missing work-up items, red-flag counts, the leading causes,
optimisation gaps (current smokers, low albumin/nutrition, HbA1c) and, when the rows carry them,
the same grouped by site and by surgeon. Charts are inline SVG; the page loads nothing (no
script, stylesheet, font or image from anywhere), so it can be mailed or archived as one file.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["DISPOSITIONS", "cohort_report", "cohort_stats"]

DISPOSITIONS = ("urgent", "incomplete_workup", "non_surgical", "surgical_candidate")
_COLOURS = {
    "urgent": "#c62828",
    "incomplete_workup": "#ef6c00",
    "non_surgical": "#1565c0",
    "surgical_candidate": "#2e7d32",
}
_BAR = "#5c6bc0"
_GAPS = (
    ("current_smokers", "Current smokers", "smoking_status = 'current'"),
    ("smoking_not_met", "Smoking cessation not met", "opt_smoking_cessation = 'not_met'"),
    ("nutrition_not_met", "Low albumin / nutrition not met", "opt_nutrition = 'not_met'"),
    ("nutrition_risk", "Nutrition: elevated risk", "opt_nutrition = 'elevated_risk'"),
    ("nutrition_unknown", "Nutrition labs missing or stale", "opt_nutrition = 'unknown'"),
    ("hba1c_not_met", "HbA1c above the deferral threshold", "opt_glucose_control = 'not_met'"),
    ("hba1c_risk", "HbA1c: elevated risk", "opt_glucose_control = 'elevated_risk'"),
    ("hba1c_unknown", "HbA1c missing or stale (diabetes)", "opt_glucose_control = 'unknown'"),
    ("vitamin_d_low", "Vitamin D deficient", "opt_vitamin_d = 'not_met'"),
)
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#212121;line-height:1.4;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{padding:.25rem .6rem;
border-bottom:1px solid #eee;text-align:left}td.n,th.n{text-align:right;
font-variant-numeric:tabular-nums}.meta{color:#555;font-size:.9rem}
.note{color:#555;font-size:.85rem;max-width:60rem}svg{display:block;margin:.5rem 0}
.key span{display:inline-block;margin-right:1rem;font-size:.85rem}
.key i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""


def _source(directory: Path) -> str:
    rows = directory / "patients.parquet"
    if rows.is_dir():
        return str(rows / "*.parquet")
    if not rows.exists():
        from revspine.errors import InputError

        raise InputError(f"{directory}: no patients.parquet (run `revspine batch` first)")
    return str(rows)


def _query(con: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    result: list[tuple[Any, ...]] = con.execute(sql, list(params)).fetchall()
    return result


def cohort_stats(directory: Path) -> dict[str, Any]:
    """Every figure of the report, computed with DuckDB (also handy for tests and notebooks)."""
    import duckdb

    from revspine.batch.rows import WORKUP_TESTS

    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet('{_source(directory)}')")
        stats: dict[str, Any] = {}
        stats["patients"] = _query(con, "SELECT count(*) FROM p")[0][0]
        stats["dispositions"] = _query(
            con, "SELECT disposition, count(*) n FROM p GROUP BY 1 ORDER BY n DESC, 1"
        )
        workup_cols = ", ".join(f"count(*) FILTER (WHERE workup_{t}) AS {t}" for t in WORKUP_TESTS)
        counts = _query(con, f"SELECT {workup_cols} FROM p")[0] if WORKUP_TESTS else ()
        blocking = dict(
            _query(
                con,
                "SELECT t, count(*) FROM (SELECT unnest(blocking_workup) t FROM p) GROUP BY 1",
            )
        )
        stats["workup"] = sorted(
            ((t, n, blocking.get(t, 0)) for t, n in zip(WORKUP_TESTS, counts, strict=True) if n),
            key=lambda r: (-r[1], r[0]),
        )
        stats["red_flags"] = _query(
            con,
            "SELECT f, count(*) n, count(DISTINCT patient_id) FROM "
            "(SELECT unnest(red_flags) f, patient_id FROM p) GROUP BY 1 ORDER BY n DESC, 1",
        )
        stats["causes"] = _query(
            con,
            "SELECT cause_1, count(*) n FROM p WHERE cause_1 IS NOT NULL "
            "GROUP BY 1 ORDER BY n DESC, 1",
        )
        stats["causes_top3"] = _query(
            con,
            "SELECT c, count(*) n FROM (SELECT unnest([cause_1, cause_2, cause_3]) c FROM p) "
            "WHERE c IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1",
        )
        gap_cols = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {key}" for key, _, cond in _GAPS)
        gaps = _query(con, f"SELECT {gap_cols} FROM p")[0]
        stats["gaps"] = [(label, n) for (_, label, _), n in zip(_GAPS, gaps, strict=True)]
        for group in ("site", "surgeon"):
            present = _query(con, f"SELECT count(*) FROM p WHERE {group} IS NOT NULL")[0][0]
            if not present:
                stats[group] = None
                continue
            disp = _query(
                con,
                f"SELECT coalesce({group}, '(not recorded)') g, disposition, count(*) FROM p "
                "GROUP BY 1, 2 ORDER BY 1, 2",
            )
            gap_by = _query(
                con,
                f"SELECT coalesce({group}, '(not recorded)') g, count(*), {gap_cols} FROM p "
                "GROUP BY 1 ORDER BY 1",
            )
            stats[group] = {"dispositions": disp, "gaps": gap_by}
        stats["knowledge"] = _query(
            con,
            "SELECT knowledge_id, knowledge_version, knowledge_sha256, count(*) FROM p "
            "GROUP BY 1, 2, 3 ORDER BY 4 DESC",
        )
        stats["as_of"] = _query(con, "SELECT min(as_of), max(as_of) FROM p")[0]
        stats["errors"] = _errors(con, directory / "errors.jsonl")
    finally:
        con.close()
    return stats


def _errors(con: Any, path: Path) -> list[tuple[Any, ...]]:
    if path.is_dir():  # a Spark output folder
        parts = [p for p in path.glob("part-*") if p.stat().st_size]
        if not parts:
            return []
        source = str(path / "part-*")
    elif path.is_file() and path.stat().st_size:
        source = str(path)
    else:
        return []
    return _query(
        con,
        "SELECT kind, file, count(*) FROM read_json(?, format='newline_delimited', "
        "columns={'file': 'VARCHAR', 'line': 'BIGINT', 'kind': 'VARCHAR'}) "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
        [source],
    )


# -- rendering --------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f} %" if total else "-"


def _bars(
    items: Sequence[tuple[str, int]],
    total: int,
    colour: str = _BAR,
    colours: dict[str, str] | None = None,
) -> str:
    """A horizontal bar chart (inline SVG) of label → count."""
    if not items:
        return "<p class='note'>None.</p>"
    label_w, bar_w, row_h = 260, 520, 24
    top = max(n for _, n in items) or 1
    height = row_h * len(items) + 8
    parts = [f"<svg width='{label_w + bar_w + 120}' height='{height}' role='img'>"]
    for i, (label, n) in enumerate(items):
        y = 4 + i * row_h
        w = max(1, round(bar_w * n / top)) if n else 0
        parts.append(
            f"<text x='{label_w - 8}' y='{y + 16}' text-anchor='end' font-size='13'>"
            f"{_e(label)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{w}' height='{row_h - 8}' "
            f"fill='{(colours or {}).get(label, colour)}'>"
            f"<title>{_e(label)}: {n}</title></rect>"
            f"<text x='{label_w + w + 6}' y='{y + 16}' font-size='12'>{n} ({_pct(n, total)})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _stacked(groups: dict[str, dict[str, int]]) -> str:
    """One 100 % stacked bar per group, segments by disposition (inline SVG)."""
    label_w, bar_w, row_h = 260, 560, 26
    height = row_h * len(groups) + 8
    parts = [f"<svg width='{label_w + bar_w + 20}' height='{height}' role='img'>"]
    for i, (group, counts) in enumerate(groups.items()):
        y = 4 + i * row_h
        total = sum(counts.values()) or 1
        parts.append(
            f"<text x='{label_w - 8}' y='{y + 17}' text-anchor='end' font-size='13'>"
            f"{_e(group)}</text>"
        )
        x = float(label_w)
        for d in DISPOSITIONS:
            n = counts.get(d, 0)
            if not n:
                continue
            w = bar_w * n / total
            parts.append(
                f"<rect x='{x:.1f}' y='{y + 3}' width='{w:.1f}' height='{row_h - 8}' "
                f"fill='{_COLOURS[d]}'><title>{_e(group)} · {_e(d)}: {n} "
                f"({_pct(n, total)})</title></rect>"
            )
            x += w
    parts.append("</svg>")
    key = "".join(
        f"<span><i style='background:{_COLOURS[d]}'></i>{_e(d)}</span>" for d in DISPOSITIONS
    )
    return "".join(parts) + f"<div class='key'>{key}</div>"


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], numeric_from: int = 1) -> str:
    th = "".join(
        f"<th class='n'>{_e(h)}</th>" if i >= numeric_from else f"<th>{_e(h)}</th>"
        for i, h in enumerate(head)
    )
    body = []
    for row in rows:
        cells = "".join(
            f"<td class='n'>{_e(v)}</td>" if i >= numeric_from else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _group_section(name: str, data: dict[str, Any], total: int) -> str:
    by: dict[str, dict[str, int]] = {}
    for group, disposition, n in data["dispositions"]:
        by.setdefault(group, {})[disposition] = n
    rows = []
    for group, counts in by.items():
        size = sum(counts.values())
        rows.append([group, size, *(counts.get(d, 0) for d in DISPOSITIONS)])
    disp_table = _table([name.title(), "patients", *DISPOSITIONS], rows)
    gap_rows = [
        [group, size, *(f"{n} ({_pct(n, size)})" for n in gaps)]
        for group, size, *gaps in data["gaps"]
    ]
    gap_table = _table([name.title(), "patients", *(label for _, label, _ in _GAPS)], gap_rows)
    return (
        f"<h2>By {_e(name)}</h2>{_stacked(by)}{disp_table}"
        f"<h3>Optimisation gaps by {_e(name)}</h3>{gap_table}"
    )


def _manifest(directory: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


def cohort_report(directory: Path) -> str:
    """The HTML report of a batch output folder (one self-contained page)."""
    s = cohort_stats(directory)
    total = s["patients"]
    manifest = _manifest(directory)
    kb = ", ".join(f"{k[0]} {k[1]} (sha256 {k[2][:12]}…, {k[3]} patients)" for k in s["knowledge"])
    as_of = s["as_of"]
    as_of_text = (
        "-"
        if as_of[0] is None
        else (str(as_of[0]) if as_of[0] == as_of[1] else f"{as_of[0]} to {as_of[1]}")
    )
    error_total = sum(n for _, _, n in s["errors"])
    disp_rows = "".join(
        f"<tr data-disposition='{_e(d)}'><td>{_e(d)}</td><td class='n'>{n}</td>"
        f"<td class='n'>{_pct(n, total)}</td></tr>"
        for d, n in s["dispositions"]
    )
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>revspine cohort report ({total} patients)</title><style>{_STYLE}</style>",
        "</head><body>",
        "<h1>revspine cohort report</h1>",
        f"<p class='meta'>{total} patients · assessed as of {_e(as_of_text)} · knowledge {_e(kb)}"
        + (
            f" · input {_e(manifest.get('input', {}).get('path', ''))} "
            f"({_e(manifest.get('input', {}).get('kind', ''))})"
            if manifest
            else ""
        )
        + f" · {error_total} bad record(s)</p>",
        "<p class='note'>Decision support for clinicians reviewing a registry, not a diagnosis: "
        "each patient's full, explained assessment is in assessments.jsonl. Counts are patients "
        "unless stated otherwise.</p>",
        "<h2>Disposition</h2>",
        _bars([(d, n) for d, n in s["dispositions"]], total, colours=_COLOURS),
        f"<table id='dispositions'><thead><tr><th>disposition</th><th class='n'>patients</th>"
        f"<th class='n'>share</th></tr></thead><tbody>{disp_rows}</tbody></table>",
        "<h2>Most common missing work-up</h2>",
        _bars([(t, n) for t, n, _ in s["workup"][:15]], total, "#ef6c00"),
        _table(["test", "patients missing it", "blocking a decision"], s["workup"]),
        "<h2>Red flags</h2>",
        _bars([(f, n) for f, n, _ in s["red_flags"]], total, "#c62828"),
        _table(["red flag", "findings", "patients"], s["red_flags"]),
        "<h2>Leading causes</h2>",
        "<p class='note'>Rank 1 of each patient's differential; the second table counts every "
        "cause among the top three.</p>",
        _bars([(c, n) for c, n in s["causes"]], total, "#6a1b9a"),
        _table(["cause (rank 1)", "patients"], s["causes"]),
        _table(["cause (top 3)", "patients"], s["causes_top3"]),
        "<h2>Optimisation gaps</h2>",
        "<p class='note'>From the optimisation rules (smoking cessation, nutrition with albumin, "
        "glucose control with HbA1c, vitamin D) where they applied: 'not met' is a measured gap, "
        "'missing or stale' a lab to order.</p>",
        _bars(s["gaps"], total, "#00838f"),
        _table(["gap", "patients"], s["gaps"]),
    ]
    for group in ("site", "surgeon"):
        if s[group] is not None:
            out.append(_group_section(group, s[group], total))
    out.append("<h2>Bad records</h2>")
    out.append(
        _table(["kind", "file", "records"], s["errors"], numeric_from=2)
        if s["errors"]
        else "<p class='note'>None.</p>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"

"""Figures for the case page as inline SVG, drawn in pure Python (no plotting library).

* :func:`prom_svg`: the PROM trajectory, ODI % in one panel and NRS back / leg in another over
  the visit dates, from every version of the case (:func:`prom_points`).
* :func:`sagittal_svg`: PI−LL, SVA and PT against their SRS–Schwab bands (0 / + / ++) from the
  knowledge base (:func:`sagittal_rows`).

The values come from the case, the engine and the knowledge base; nothing here grades or
interprets them. Every mark carries ``data-*`` attributes with the value it shows, and the figures
are built with :mod:`xml.etree.ElementTree`, so they are always well-formed XML.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from revspine.domain.assessment import Assessment
from revspine.domain.case import Case
from revspine.domain.scores import odi
from revspine.knowledge import Knowledge

__all__ = [
    "PromPoint",
    "SagittalRow",
    "VersionCase",
    "prom_points",
    "prom_svg",
    "sagittal_rows",
    "sagittal_svg",
]

SVG_NS = "http://www.w3.org/2000/svg"
INK, MUTED, GRID = "#1a1a1a", "#5a5a5a", "#d9d9d9"
ODI_COLOUR, BACK_COLOUR, LEG_COLOUR = "#1b4a73", "#a3001a", "#b35900"
ZONE_FILLS = ("#d9efdf", "#fbe8b0", "#f5c9ce")
SAGITTAL = (
    ("PI−LL", "sagittal.pi_ll_deg", "°"),
    ("SVA (cm)", "sagittal.sva_cm", " cm"),
    ("PT", "sagittal.pt_deg", "°"),
)


@dataclass(frozen=True)
class VersionCase:
    """One stored version of a case: its number, as-of date and case document (JSON form)."""

    version: int
    as_of: date
    case: Mapping[str, Any]


@dataclass(frozen=True)
class PromPoint:
    """Patient-reported outcomes at one date."""

    when: date
    odi: float | None
    nrs_back: float | None
    nrs_leg: float | None
    version: int
    source: str
    """``proms`` (a questionnaire row) or ``symptoms`` (the NRS of the case at that version)."""


@dataclass(frozen=True)
class SagittalRow:
    """One SRS–Schwab modifier: its value, unit, band (grade 0 below, ++ above) and grade."""

    label: str
    value: float
    unit: str
    band: tuple[float, float] | None
    grade: str | None = None


# -- data ---------------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _date(value: Any, default: date) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return default
    return default


def _odi_percent(answers: Any, max_missing: int) -> float | None:
    if not isinstance(answers, list) or len(answers) != 10:
        return None
    try:
        result = odi(answers, max_missing)
    except ValueError:
        return None
    return result.percent if result.valid else None


def prom_points(versions: Iterable[VersionCase], odi_max_missing: int = 2) -> list[PromPoint]:
    """The PROM trajectory over every version, by date.

    Each questionnaire row (``proms``) is a point at its date (undated rows at the version's
    as-of date); when versions disagree about a date, the later version wins. A version whose
    symptoms carry a back or leg NRS adds a point at its as-of date, or fills the NRS a
    questionnaire row of that date left out. Rows removed in a later version stay: the
    trajectory is a history.
    """
    by_date: dict[date, PromPoint] = {}
    symptom_points: dict[date, PromPoint] = {}
    for v in sorted(versions, key=lambda v: v.version):
        for row in v.case.get("proms") or []:
            if not isinstance(row, Mapping):
                continue
            point = PromPoint(
                when=_date(row.get("date"), v.as_of),
                odi=_odi_percent(row.get("odi_answers"), odi_max_missing),
                nrs_back=_number(row.get("nrs_back")),
                nrs_leg=_number(row.get("nrs_leg")),
                version=v.version,
                source="proms",
            )
            if point.odi is not None or point.nrs_back is not None or point.nrs_leg is not None:
                by_date[point.when] = point
        symptoms = v.case.get("symptoms") or {}
        back, leg = _number(symptoms.get("back_pain_nrs")), _number(symptoms.get("leg_pain_nrs"))
        if back is not None or leg is not None:
            symptom_points[v.as_of] = PromPoint(v.as_of, None, back, leg, v.version, "symptoms")
    for when, point in symptom_points.items():
        row = by_date.get(when)
        if row is None:
            by_date[when] = point
        elif row.nrs_back is None or row.nrs_leg is None:  # fill what the row left out
            by_date[when] = replace(
                row,
                nrs_back=point.nrs_back if row.nrs_back is None else row.nrs_back,
                nrs_leg=point.nrs_leg if row.nrs_leg is None else row.nrs_leg,
            )
    return [by_date[d] for d in sorted(by_date)]


def sagittal_rows(
    assessment: Assessment, case: Case, knowledge: Knowledge | None
) -> list[SagittalRow]:
    """PI−LL, SVA (cm) and PT with their bands: the values and grades of the engine's
    ``sagittal_alignment`` planning item when there is one, else the engine's reading of the
    latest spinopelvic measurement (values only). Bands come from ``knowledge``."""
    bands: dict[str, tuple[float, float]] = {}
    if knowledge is not None:
        for label, key, _ in SAGITTAL:
            try:
                bands[label] = knowledge.pair(key)
            except (KeyError, TypeError, ValueError):
                continue
    item = next((r for r in assessment.surgical_planning if r.code == "sagittal_alignment"), None)
    values: dict[str, tuple[float, str | None]] = {}
    if item is not None:
        for label, _, _ in SAGITTAL:
            entry = item.details.get(label)
            if isinstance(entry, Mapping) and _number(entry.get("value")) is not None:
                grade = entry.get("grade")
                values[label] = (float(entry["value"]), grade if isinstance(grade, str) else None)
    elif knowledge is not None and any(s.spinopelvic is not None for s in case.imaging):
        from revspine.rules.context import Ctx
        from revspine.rules.planning import schwab_modifiers

        for label, (_, value, _) in schwab_modifiers(
            Ctx(case, knowledge, assessment.as_of)
        ).items():
            values[label] = (value, None)
    return [
        SagittalRow(label, round(values[label][0], 1), unit, bands.get(label), values[label][1])
        for label, _, unit in SAGITTAL
        if label in values
    ]


# -- drawing ------------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    node = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): str(v) for k, v in attrs.items()}
    )
    if text is not None:
        node.text = text
    return node


def _svg(width: int, height: int, title: str, desc: str, css_class: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "img",
            "class": css_class,
            "font-family": "-apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
        },
    )
    _el(svg, "title", title)
    _el(svg, "desc", desc)
    return svg


def _text(svg: ET.Element) -> str:
    return ET.tostring(svg, encoding="unicode")


def _date_ticks(dates: Sequence[date], limit: int = 6) -> list[date]:
    if len(dates) <= limit:
        return list(dates)
    step = math.ceil((len(dates) - 1) / (limit - 1))
    picked = list(dates[::step])
    if picked[-1] != dates[-1]:
        picked[-1] = dates[-1]
    return picked


@dataclass(frozen=True)
class _Frame:
    left: float
    right: float
    first: date
    last: date

    def x(self, when: date) -> float:
        span = (self.last - self.first).days
        if span == 0:
            return round((self.left + self.right) / 2, 1)
        return round(self.left + (when - self.first).days / span * (self.right - self.left), 1)


def _panel(
    svg: ET.Element,
    frame: _Frame,
    top: float,
    height: float,
    maximum: float,
    ticks: Sequence[float],
    title: str,
) -> Any:
    def y(value: float) -> float:
        return round(top + height - value / maximum * height, 1)

    _el(svg, "text", title, x=frame.left, y=top - 8, font_size=12, font_weight=600, fill=INK)
    for tick in ticks:
        _el(svg, "line", x1=frame.left, x2=frame.right, y1=y(tick), y2=y(tick), stroke=GRID)
        _el(
            svg,
            "text",
            _fmt(tick),
            x=frame.left - 6,
            y=y(tick) + 4,
            font_size=10,
            fill=MUTED,
            text_anchor="end",
        )
    return y


def _series(
    svg: ET.Element,
    points: Sequence[tuple[date, float]],
    frame: _Frame,
    y: Any,
    colour: str,
    name: str,
    marker: str,
    dashed: bool = False,
) -> None:
    group = _el(svg, "g", class_=f"series series-{name}")
    if len(points) > 1:
        path = " ".join(f"{frame.x(d)},{y(v)}" for d, v in points)
        extra = {"stroke_dasharray": "5 3"} if dashed else {}
        _el(group, "polyline", points=path, fill="none", stroke=colour, stroke_width=2, **extra)
    for when, value in points:
        cx, cy = frame.x(when), y(value)
        attrs = {
            "class_": f"pt pt-{name}",
            "data_value": _fmt(value),
            "data_date": when.isoformat(),
        }
        if marker == "square":
            _el(group, "rect", x=cx - 4, y=cy - 4, width=8, height=8, fill=colour, **attrs)
        else:
            _el(group, "circle", cx=cx, cy=cy, r=4.5, fill=colour, **attrs)
        _el(
            group,
            "text",
            _fmt(value),
            x=cx,
            y=cy - 8,
            font_size=10,
            fill=colour,
            text_anchor="middle",
        )


def _empty(svg: ET.Element, frame: _Frame, y: float, words: str) -> None:
    middle = (frame.left + frame.right) / 2
    _el(
        svg,
        "text",
        words,
        x=middle,
        y=y,
        font_size=12,
        fill=MUTED,
        text_anchor="middle",
        font_style="italic",
    )


def prom_svg(points: Sequence[PromPoint]) -> str | None:
    """The PROM trajectory: ODI % (0-100) above, NRS back and leg (0-10) below; None when there
    is nothing to draw."""
    odi_points = [(p.when, p.odi) for p in points if p.odi is not None]
    back = [(p.when, p.nrs_back) for p in points if p.nrs_back is not None]
    leg = [(p.when, p.nrs_leg) for p in points if p.nrs_leg is not None]
    if not (odi_points or back or leg):
        return None
    width, height = 480, 330
    dates = sorted({p.when for p in points})
    frame = _Frame(40, width - 24, dates[0], dates[-1])
    desc = "; ".join(
        f"{p.when.isoformat()}: ODI {_fmt(p.odi) if p.odi is not None else 'not scored'} %, "
        f"NRS back {_fmt(p.nrs_back) if p.nrs_back is not None else '-'}, "
        f"leg {_fmt(p.nrs_leg) if p.nrs_leg is not None else '-'}"
        for p in points
    )
    svg = _svg(width, height, "PROM trajectory: ODI and pain NRS over time", desc, "plot prom-plot")
    y_odi = _panel(svg, frame, 28, 100, 100, (0, 20, 40, 60, 80, 100), "ODI (%)")
    _series(svg, [(d, float(v)) for d, v in odi_points], frame, y_odi, ODI_COLOUR, "odi", "circle")
    if not odi_points:
        _empty(svg, frame, 28 + 55, "no ODI recorded")
    y_nrs = _panel(svg, frame, 172, 100, 10, (0, 2, 4, 6, 8, 10), "Pain NRS (0-10)")
    _series(svg, [(d, float(v)) for d, v in back], frame, y_nrs, BACK_COLOUR, "back", "circle")
    _series(svg, [(d, float(v)) for d, v in leg], frame, y_nrs, LEG_COLOUR, "leg", "square", True)
    if not (back or leg):
        _empty(svg, frame, 172 + 55, "no back or leg NRS recorded")
    for when in _date_ticks(dates):
        _el(
            svg,
            "text",
            when.isoformat(),
            x=frame.x(when),
            y=height - 22,
            font_size=10,
            fill=MUTED,
            text_anchor="middle",
            class_="date-tick",
        )
    legend = _el(svg, "g", class_="legend")
    for i, (name, colour, dashed) in enumerate(
        (
            ("ODI %", ODI_COLOUR, False),
            ("NRS back", BACK_COLOUR, False),
            ("NRS leg", LEG_COLOUR, True),
        )
    ):
        x0 = frame.left + i * 100
        extra = {"stroke_dasharray": "5 3"} if dashed else {}
        _el(
            legend,
            "line",
            x1=x0,
            x2=x0 + 22,
            y1=height - 6,
            y2=height - 6,
            stroke=colour,
            stroke_width=2,
            **extra,
        )
        _el(legend, "text", name, x=x0 + 27, y=height - 2, font_size=11, fill=INK)
    return _text(svg)


@dataclass(frozen=True)
class _Scale:
    x0: float
    width: float
    low: float
    high: float

    def x(self, value: float) -> float:
        return round(self.x0 + (value - self.low) / (self.high - self.low) * self.width, 1)


def sagittal_scale(row: SagittalRow, x0: float = 80, width: float = 280) -> _Scale:
    """The horizontal scale of one row: from below 0 and the value to beyond the upper band."""
    upper = row.band[1] if row.band else max(abs(row.value), 1.0)
    low = min(0.0, row.value) - 0.1 * upper
    high = max(row.value, upper * 1.5) + 0.1 * upper
    return _Scale(x0, width, low, high)


def sagittal_svg(rows: Sequence[SagittalRow]) -> str | None:
    """PI−LL, SVA and PT as marks on bars shaded by their bands (green grade 0, amber +, red
    ++); None without values."""
    if not rows:
        return None
    row_h, x0, bar_w = 52, 80, 280
    width, height = x0 + bar_w + 120, 16 + row_h * len(rows)
    desc = "; ".join(
        f"{r.label} {_fmt(r.value)}{r.unit}"
        + (f" (bands {_fmt(r.band[0])} / {_fmt(r.band[1])})" if r.band else "")
        + (f", grade {r.grade}" if r.grade else "")
        for r in rows
    )
    svg = _svg(
        width, height, "Sagittal alignment against the SRS–Schwab bands", desc, "plot sagittal-plot"
    )
    for i, row in enumerate(rows):
        top = 12 + i * row_h
        scale = sagittal_scale(row, x0, bar_w)
        group = _el(svg, "g", class_="sag-row", data_label=row.label, data_value=_fmt(row.value))
        _el(group, "text", row.label, x=0, y=top + 20, font_size=13, font_weight=600, fill=INK)
        cuts = [
            scale.low,
            *(min(max(b, scale.low), scale.high) for b in row.band or ()),
            scale.high,
        ]
        names = ("0", "+", "++") if row.band else ("",)
        for j in range(len(cuts) - 1):
            left, right = scale.x(cuts[j]), scale.x(cuts[j + 1])
            fill = ZONE_FILLS[j] if row.band else "#e6e6e6"
            _el(
                group,
                "rect",
                x=left,
                y=top + 4,
                width=round(right - left, 1),
                height=24,
                fill=fill,
                class_="zone",
                data_grade=names[j],
            )
            if names[j]:
                _el(
                    group,
                    "text",
                    names[j],
                    x=left + 4,
                    y=top + 15,
                    font_size=10,
                    font_weight=700,
                    fill="#333",
                )
        for b in row.band or ():
            _el(
                group,
                "text",
                _fmt(b),
                x=scale.x(b),
                y=top + 42,
                font_size=10,
                fill=MUTED,
                text_anchor="middle",
            )
        zero = scale.x(0.0)
        _el(
            group,
            "line",
            x1=zero,
            x2=zero,
            y1=top + 1,
            y2=top + 31,
            stroke="#777",
            stroke_dasharray="3 2",
        )
        mark = scale.x(row.value)
        _el(
            group,
            "line",
            x1=mark,
            x2=mark,
            y1=top,
            y2=top + 32,
            stroke="#000",
            stroke_width=3,
            class_="mark",
            data_value=_fmt(row.value),
        )
        label = f"{_fmt(row.value)}{row.unit}" + (f" · grade {row.grade}" if row.grade else "")
        _el(
            group,
            "text",
            label,
            x=x0 + bar_w + 10,
            y=top + 20,
            font_size=12,
            fill=INK,
            class_="value",
        )
    return _text(svg)

"""The case page's figures: inline SVG drawn in pure Python, well-formed, values where they belong."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import pytest
from webtools import example

from revspine.casefile import load_case_data
from revspine.engine import assess
from revspine.knowledge import Knowledge
from revspine.web import plots

NS = {"s": plots.SVG_NS}


def _parse(svg: str | None) -> ET.Element:
    assert svg is not None
    root = ET.fromstring(svg)  # well-formed XML or this raises
    assert root.tag == f"{{{plots.SVG_NS}}}svg" and root.get("role") == "img"
    assert root.find("s:title", NS) is not None and root.find("s:desc", NS) is not None
    return root


def _version(number: int, as_of: str, **case: Any) -> plots.VersionCase:
    return plots.VersionCase(number, date.fromisoformat(as_of), case)


ODI_40 = [2] * 10


def test_prom_points_gather_every_version_and_the_later_version_wins() -> None:
    versions = [
        _version(
            1, "2026-01-10", proms=[{"date": "2026-01-10", "odi_answers": [4] * 10, "nrs_back": 8}]
        ),
        _version(
            2,
            "2026-04-02",
            proms=[
                {"date": "2026-01-10", "odi_answers": [3] * 10, "nrs_back": 7},  # corrected
                {"odi_answers": ODI_40, "nrs_leg": 3},  # undated: the version's as-of date
            ],
            symptoms={"back_pain_nrs": 5, "leg_pain_nrs": 2},
        ),
        _version(3, "2026-07-01", symptoms={"back_pain_nrs": 4}),
    ]
    points = plots.prom_points(versions)
    assert [(p.when.isoformat(), p.odi, p.nrs_back, p.nrs_leg, p.source) for p in points] == [
        ("2026-01-10", 60.0, 7.0, None, "proms"),
        ("2026-04-02", 40.0, 5.0, 3.0, "proms"),  # the symptoms fill the row's missing NRS
        ("2026-07-01", None, 4.0, None, "symptoms"),
    ]


def test_an_invalid_odi_is_not_plotted() -> None:
    versions = [_version(1, "2026-01-10", proms=[{"odi_answers": [1, None, None, None] + [1] * 6}])]
    assert plots.prom_points(versions) == []
    assert plots.prom_svg([]) is None


def test_the_prom_trajectory_places_each_value_on_its_scale() -> None:
    points = [
        plots.PromPoint(date(2026, 1, 1), 60.0, 8, 2, 1, "proms"),
        plots.PromPoint(date(2026, 3, 2), 40.0, 5, None, 2, "proms"),
        plots.PromPoint(date(2026, 5, 1), 20.0, 2, 6, 3, "proms"),
    ]
    root = _parse(plots.prom_svg(points))
    odi = root.findall(".//s:circle[@class='pt pt-odi']", NS)
    assert [c.get("data-value") for c in odi] == ["60", "40", "20"]
    ys = [float(c.get("cy", "nan")) for c in odi]
    # ODI panel: top 28, 100 px high, 0-100 %: y = 128 - value
    assert ys == [68.0, 88.0, 108.0]
    xs = [float(c.get("cx", "nan")) for c in odi]
    assert xs[0] == 40.0 and xs[-1] == 456.0 and xs[0] < xs[1] < xs[2]
    # NRS panel: top 172, 100 px high, 0-10: y = 272 - 10 × value
    back = root.findall(".//s:circle[@class='pt pt-back']", NS)
    assert [float(c.get("cy", "nan")) for c in back] == [192.0, 222.0, 252.0]
    leg = root.findall(".//s:rect[@class='pt pt-leg']", NS)
    assert [r.get("data-value") for r in leg] == ["2", "6"]
    assert [t.text for t in root.findall(".//s:text[@class='date-tick']", NS)] == [
        "2026-01-01",
        "2026-03-02",
        "2026-05-01",
    ]


def test_a_single_visit_is_drawn_in_the_middle_and_missing_series_are_named() -> None:
    root = _parse(plots.prom_svg([plots.PromPoint(date(2026, 1, 1), None, 7, None, 1, "symptoms")]))
    [point] = root.findall(".//s:circle[@class='pt pt-back']", NS)
    assert float(point.get("cx", "nan")) == 248.0
    assert "no ODI recorded" in "".join(root.itertext())


def test_the_sagittal_figure_puts_each_value_in_its_band() -> None:
    rows = [
        plots.SagittalRow("PI−LL", 36.0, "°", (10.0, 20.0), "++"),
        plots.SagittalRow("SVA (cm)", 2.5, " cm", (4.0, 9.5), "0"),
        plots.SagittalRow("PT", 25.0, "°", (20.0, 30.0), "+"),
    ]
    root = _parse(plots.sagittal_svg(rows))
    groups = root.findall(".//s:g[@class='sag-row']", NS)
    assert [g.get("data-label") for g in groups] == ["PI−LL", "SVA (cm)", "PT"]
    for row, group in zip(rows, groups, strict=True):
        mark = group.find("s:line[@class='mark']", NS)
        assert mark is not None
        x = float(mark.get("x1", "nan"))
        assert x == plots.sagittal_scale(row).x(row.value)
        zones = {z.get("data-grade"): z for z in group.findall("s:rect[@class='zone']", NS)}
        assert list(zones) == ["0", "+", "++"]
        inside = [
            grade
            for grade, z in zones.items()
            if float(z.get("x", "nan"))
            <= x
            <= float(z.get("x", "nan")) + float(z.get("width", "nan"))
        ]
        assert inside[-1] == row.grade  # the mark sits in the band of its grade
    assert "36° · grade ++" in "".join(root.itertext())
    assert plots.sagittal_svg([]) is None


def test_sagittal_rows_come_from_the_engine_and_the_knowledge_base(knowledge: Knowledge) -> None:
    data = example("29_flatback_sagittal_imbalance")
    case = load_case_data(json.loads(json.dumps(data, default=str)), "t")
    rows = plots.sagittal_rows(assess(case, knowledge), case, knowledge)
    assert [(r.label, r.value, r.grade, r.band) for r in rows] == [
        ("PI−LL", 36.0, "++", (10.0, 20.0)),
        ("SVA (cm)", 11.2, "++", (4.0, 9.5)),
        ("PT", 33.0, "++", (20.0, 30.0)),
    ]


@pytest.mark.parametrize(
    "name", ["07_suspected_pseudarthrosis_no_ct", "25_recurrent_herniation_l5_candidate"]
)
def test_without_a_planning_item_the_latest_measurement_is_read(
    name: str, knowledge: Knowledge
) -> None:
    data = example(name)
    data["imaging"] = [
        *data.get("imaging", []),
        {
            "modality": "standing_full_spine_xray",
            "date": "2026-10-20",
            "spinopelvic": {"pi": 50, "ll": 45, "pt": 18, "sva": "3 cm"},
        },
    ]
    case = load_case_data(json.loads(json.dumps(data, default=str)), "t")
    assessment = assess(case, knowledge)
    rows = plots.sagittal_rows(assessment, case, knowledge)
    values = {r.label: r.value for r in rows}
    assert values == {"PI−LL": 5.0, "SVA (cm)": 3.0, "PT": 18.0}

"""Instrument scoring (REFERENCE.md §9): ODI, PHQ-9, PCS, STarT Back, percent relief."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from revspine.domain.scores import (
    ODI_SECTIONS,
    OdiResult,
    PcsResult,
    Phq9Result,
    StartBackResult,
    odi,
    pcs,
    percent_relief,
    phq9,
    start_back,
)

pytestmark = pytest.mark.req("REQ-026")

# --------------------------------------------------------------------------------------------
# ODI (§9.1)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "percent", "band"),
    [
        ([0] * 10, 0.0, "minimal"),
        ([1] * 10, 20.0, "minimal"),
        ([1] * 9 + [2], 22.0, "moderate"),
        ([2] * 10, 40.0, "moderate"),
        ([2] * 9 + [3], 42.0, "severe"),
        ([3] * 10, 60.0, "severe"),
        ([3] * 9 + [4], 62.0, "crippled"),
        ([4] * 10, 80.0, "crippled"),
        ([4] * 9 + [5], 82.0, "bed_bound"),
        ([5] * 10, 100.0, "bed_bound"),
        ([3, 2, 4, 1, 3, 2, 2, 0, 3, 2], 44.0, "severe"),  # 22/50
    ],
)
def test_odi_complete(answers: list[int], percent: float, band: str) -> None:
    result = odi(answers)
    assert result == OdiResult(percent, band, 10, True, ())  # type: ignore[arg-type]


def test_odi_one_missing_section_shrinks_the_denominator() -> None:
    # 18 / (5 × 9) × 100 = 40 %
    result = odi([2, 2, 2, 2, 2, 2, 2, None, 2, 2])
    assert result.percent == 40.0
    assert result.band == "moderate"
    assert result.answered == 9
    assert result.valid is True
    assert result.problems == ("section 8 (sex life) not answered",)


def test_odi_two_missing_sections_still_valid() -> None:
    # 9 / (5 × 8) × 100 = 22.5 % → above 20, so "moderate"
    result = odi([1, 1, 1, 1, 1, 1, 1, None, None, 2])
    assert result.percent == pytest.approx(22.5)
    assert result.band == "moderate"
    assert result.answered == 8
    assert result.valid is True
    assert len(result.problems) == 2


def test_odi_boundary_with_missing_section_is_exact() -> None:
    # 9 / 45 × 100 is exactly 20 → minimal (no float noise pushing it to moderate)
    result = odi([1, 1, 1, 1, 1, 1, 1, 1, 1, None])
    assert result.percent == 20.0
    assert result.band == "minimal"


def test_odi_more_than_two_missing_is_invalid() -> None:
    result = odi([3, None, 2, None, 2, None, 2, 2, 2, 2])
    assert result.valid is False
    assert result.percent is None
    assert result.band is None
    assert result.answered == 7
    assert any("not valid" in p for p in result.problems)
    assert "section 2 (personal care) not answered" in result.problems


def test_odi_all_missing_is_invalid() -> None:
    result = odi([None] * 10)
    assert result == OdiResult(None, None, 0, False, result.problems)
    assert result.valid is False


@pytest.mark.parametrize("length", [0, 9, 11])
def test_odi_wrong_length(length: int) -> None:
    with pytest.raises(ValueError, match="exactly 10 sections"):
        odi([1] * length)


@pytest.mark.parametrize(
    ("index", "value"),
    [(0, 6), (2, -1), (9, 7), (4, True), (5, 2.5), (6, "3")],
)
def test_odi_bad_section_value_names_the_section(index: int, value: Any) -> None:
    answers: list[Any] = [1] * 10
    answers[index] = value
    with pytest.raises(ValueError, match=rf"ODI section {index + 1} \({ODI_SECTIONS[index]}\)"):
        odi(answers)


def test_odi_rejects_a_string() -> None:
    with pytest.raises(ValueError):
        odi("1111111111")  # type: ignore[arg-type]


def test_odi_sections_follow_reference_order() -> None:
    assert ODI_SECTIONS[0] == "pain intensity"
    assert ODI_SECTIONS[-1] == "travelling"
    assert len(ODI_SECTIONS) == 10


def test_results_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        odi([0] * 10).percent = 50.0  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# PHQ-9 (§9.3)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands(total: int, band: str) -> None:
    # spread `total` over items 1-8 (max 24) with item 9 = 0 where possible
    items = [0] * 9
    remaining = total
    for i in range(9):
        items[i] = min(3, remaining)
        remaining -= items[i]
    result = phq9(items)
    assert result.total == total
    assert result.band == band
    assert result.complete is True


def test_phq9_item9_positive_regardless_of_total() -> None:
    result = phq9([0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert result == Phq9Result(1, "minimal", True, True)


def test_phq9_item9_negative() -> None:
    assert phq9([2, 2, 2, 2, 2, 0, 0, 0, 0]).item9_positive is False


def test_phq9_incomplete_still_reports_item9() -> None:
    result = phq9([3, None, 3, 3, 3, 3, 3, 3, 2])
    assert result == Phq9Result(None, None, True, False)


def test_phq9_item9_unanswered() -> None:
    result = phq9([1, 1, 1, 1, 1, 1, 1, 1, None])
    assert result == Phq9Result(None, None, None, False)


@pytest.mark.parametrize("items", [[0] * 8, [0] * 10])
def test_phq9_wrong_length(items: list[int]) -> None:
    with pytest.raises(ValueError, match="exactly 9 items"):
        phq9(items)


def test_phq9_out_of_range_names_item() -> None:
    with pytest.raises(ValueError, match="PHQ-9 item 4 must be 0-3"):
        phq9([0, 0, 0, 4, 0, 0, 0, 0, 0])


# --------------------------------------------------------------------------------------------
# PCS (§9.5)
# --------------------------------------------------------------------------------------------


def test_pcs_subscales() -> None:
    # item n has value n % 5 → items 1..13 = 1,2,3,4,0,1,2,3,4,0,1,2,3
    items = [n % 5 for n in range(1, 14)]
    result = pcs(items)
    assert result == PcsResult(
        total=26,
        rumination=3 + 4 + 0 + 1,  # items 8-11
        magnification=1 + 2 + 3,  # items 6, 7, 13
        helplessness=1 + 2 + 3 + 4 + 0 + 2,  # items 1-5, 12
        complete=True,
    )
    assert result.rumination + result.magnification + result.helplessness == result.total  # type: ignore[operator]


def test_pcs_extremes() -> None:
    assert pcs([0] * 13) == PcsResult(0, 0, 0, 0, True)
    assert pcs([4] * 13) == PcsResult(52, 16, 12, 24, True)


def test_pcs_missing_item_blanks_only_its_subscale() -> None:
    items: list[int | None] = [4] * 13
    items[9] = None  # item 10: rumination
    result = pcs(items)
    assert result == PcsResult(None, None, 12, 24, False)


def test_pcs_invalid() -> None:
    with pytest.raises(ValueError, match="exactly 13 items"):
        pcs([0] * 12)
    with pytest.raises(ValueError, match="PCS item 13 must be 0-4"):
        pcs([0] * 12 + [5])


# --------------------------------------------------------------------------------------------
# STarT Back (§9.4)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "total", "psychosocial", "risk"),
    [
        ([0, 0, 0, 0, 0, 0, 0, 0, 0], 0, 0, "low"),
        ([1, 1, 1, 0, 0, 0, 0, 0, 0], 3, 0, "low"),
        ([0, 0, 0, 0, 1, 1, 1, 0, 0], 3, 3, "low"),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, 0, "medium"),
        ([1, 0, 0, 0, 1, 1, 1, 0, 0], 4, 3, "medium"),
        ([1, 1, 1, 1, 1, 1, 1, 0, 0], 7, 3, "medium"),
        ([0, 0, 0, 0, 1, 1, 1, 1, 0], 4, 4, "high"),
        ([0, 0, 0, 0, 1, 1, 1, 0, 1], 4, 4, "high"),
        ([1, 1, 1, 1, 1, 1, 1, 1, 1], 9, 5, "high"),
    ],
)
def test_start_back_groups(items: list[int], total: int, psychosocial: int, risk: str) -> None:
    assert start_back(items) == StartBackResult(total, psychosocial, risk, True)  # type: ignore[arg-type]


def test_start_back_missing_item_but_risk_determined() -> None:
    # psychosocial 4 → high whatever item 2 was
    result = start_back([0, None, 0, 0, 1, 1, 1, 1, 0])
    assert result == StartBackResult(None, 4, "high", False)
    # total ≤ 3 even if the missing item were 1, and psychosocial cannot reach 4 → low
    assert start_back([0, None, 0, 0, 1, 1, 0, 0, 0]) == StartBackResult(None, 2, "low", False)


def test_start_back_missing_item_risk_undetermined() -> None:
    # total 3 now; the missing item 1 decides between low and medium
    assert start_back([None, 1, 1, 1, 0, 0, 0, 0, 0]) == StartBackResult(None, 0, None, False)
    # psychosocial 3 with item 9 missing: medium or high
    assert start_back([1, 1, 0, 0, 1, 1, 1, 0, None]) == StartBackResult(None, None, None, False)


def test_start_back_invalid() -> None:
    with pytest.raises(ValueError, match="exactly 9 items"):
        start_back([0] * 8)
    with pytest.raises(ValueError, match="STarT Back item 9 must be 0-1"):
        start_back([0] * 8 + [3])  # item 9 must be dichotomised by the caller


# --------------------------------------------------------------------------------------------
# Percent relief (§9.2)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pre", "post", "expected"),
    [
        (8, 4, 50.0),
        (8, 2, 75.0),
        (10, 0, 100.0),
        (6, 6, 0.0),
        (5, 7.5, -50.0),
        (7.5, 3.0, 60.0),
    ],
)
def test_percent_relief(pre: float, post: float, expected: float) -> None:
    assert percent_relief(pre, post) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("pre", "post"),
    [(0, 0), (0, 3), (-1, 0), (5, -1), (float("nan"), 1), (5, float("inf"))],
)
def test_percent_relief_invalid(pre: float, post: float) -> None:
    with pytest.raises(ValueError):
        percent_relief(pre, post)

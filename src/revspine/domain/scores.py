"""Scoring of the intake instruments in REFERENCE.md §9 (pure functions, frozen results).

Input problems (wrong number of items, an answer out of range or not an integer) raise
:class:`ValueError` naming the item or section. Unanswered items are ``None``; what an unanswered
item does to each score is stated per instrument. Interpretation cut-offs that the reference says
must be configurable (PHQ-9 ≥10, PCS ≥30, ODI acceptable state, SCS relief ≥50 %) are *not*
applied here: that is the rules' job.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

__all__ = [
    "ODI_SECTIONS",
    "OdiResult",
    "PcsResult",
    "Phq9Result",
    "StartBackResult",
    "odi",
    "pcs",
    "percent_relief",
    "phq9",
    "start_back",
]


def _check_items(
    instrument: str,
    answers: Sequence[int | None],
    count: int,
    low: int,
    high: int,
    labels: Sequence[str] | None = None,
    noun: str = "item",
) -> tuple[int | None, ...]:
    """Validate length, type and range; return the answers as a tuple."""
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise ValueError(f"{instrument}: expected a sequence of {count} {noun}s")
    if len(answers) != count:
        raise ValueError(f"{instrument}: expected exactly {count} {noun}s, got {len(answers)}")
    for index, answer in enumerate(answers, start=1):
        if answer is None:
            continue
        label = f" ({labels[index - 1]})" if labels else ""
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise ValueError(
                f"{instrument} {noun} {index}{label} must be an integer {low}-{high} or None, "
                f"got {answer!r}"
            )
        if not low <= answer <= high:
            raise ValueError(
                f"{instrument} {noun} {index}{label} must be {low}-{high} or None, got {answer}"
            )
    return tuple(answers)


def _sum_of(answers: Sequence[int | None], items: Sequence[int]) -> int | None:
    """Sum of the 1-based ``items``, or None if any of them is unanswered."""
    values = [answers[i - 1] for i in items]
    if any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


# ---------------------------------------------------------------------------------------------
# Oswestry Disability Index
# ---------------------------------------------------------------------------------------------

ODI_SECTIONS: tuple[str, ...] = (
    "pain intensity",
    "personal care",
    "lifting",
    "walking",
    "sitting",
    "standing",
    "sleeping",
    "sex life",
    "social life",
    "travelling",
)
"""The 10 ODI v2.1a sections in order (REFERENCE.md §9.1 [72])."""

OdiBand = Literal["minimal", "moderate", "severe", "crippled", "bed_bound"]
_ODI_MAX_MISSING = 2


@dataclass(frozen=True, slots=True)
class OdiResult:
    """An ODI score. ``percent`` and ``band`` are None when the questionnaire is not valid."""

    percent: float | None
    band: OdiBand | None
    answered: int
    valid: bool
    problems: tuple[str, ...]


def _odi_band(percent: Fraction) -> OdiBand:
    # Bands 0-20, 21-40, 41-60, 61-80, 81-100 (§9.1). With unanswered sections the percentage
    # need not be an integer, so each band is read as "above the previous upper bound".
    if percent <= 20:
        return "minimal"
    if percent <= 40:
        return "moderate"
    if percent <= 60:
        return "severe"
    if percent <= 80:
        return "crippled"
    return "bed_bound"


def odi(answers: Sequence[int | None], max_missing: int = _ODI_MAX_MISSING) -> OdiResult:
    """Score the Oswestry Disability Index v2.1a (REFERENCE.md §9.1, source [72]).

    ``answers`` holds the 10 section scores (0-5) in the order of :data:`ODI_SECTIONS`, ``None``
    for an unanswered section.

    * ``percent = sum of answered sections / (5 × answered) × 100`` — each unanswered section
      removes 5 from the denominator (all answered: /50) [72].
    * Bands [72]: 0-20 ``minimal``; 21-40 ``moderate``; 41-60 ``severe``; 61-80 ``crippled``;
      81-100 ``bed_bound`` (bed-bound or symptom exaggeration). A non-integer percentage (possible
      with unanswered sections) belongs to the band whose upper bound it does not exceed.
    * More than 2 unanswered sections → ``valid=False``, ``percent=None``. REFERENCE.md marks this
      rule ``[unverified – common clinical practice]``.

    ``problems`` lists unanswered sections (and why the score is invalid, when it is).

    Raises ValueError if there are not exactly 10 sections or a section is not an integer 0-5
    (the message names the 1-based section number and its name).
    """
    values = _check_items("ODI", answers, 10, 0, 5, ODI_SECTIONS, noun="section")
    missing = [i for i, v in enumerate(values, start=1) if v is None]
    answered = len(values) - len(missing)
    problems = [f"section {i} ({ODI_SECTIONS[i - 1]}) not answered" for i in missing]
    if len(missing) > max_missing:
        problems.append(
            f"{len(missing)} sections not answered (more than {max_missing}): ODI not valid"
        )
        return OdiResult(None, None, answered, False, tuple(problems))
    total = sum(v for v in values if v is not None)
    percent = Fraction(100 * total, 5 * answered)
    return OdiResult(float(percent), _odi_band(percent), answered, True, tuple(problems))


# ---------------------------------------------------------------------------------------------
# PHQ-9
# ---------------------------------------------------------------------------------------------

Phq9Band = Literal["minimal", "mild", "moderate", "moderately_severe", "severe"]


@dataclass(frozen=True, slots=True)
class Phq9Result:
    """A PHQ-9 score. ``item9_positive`` is None only when item 9 is unanswered."""

    total: int | None
    band: Phq9Band | None
    item9_positive: bool | None
    complete: bool


def _phq9_band(total: int) -> Phq9Band:
    if total <= 4:
        return "minimal"
    if total <= 9:
        return "mild"
    if total <= 14:
        return "moderate"
    if total <= 19:
        return "moderately_severe"
    return "severe"


def phq9(items: Sequence[int | None]) -> Phq9Result:
    """Score the PHQ-9 (REFERENCE.md §9.3, source [73]; item 9 handling [73b]).

    ``items`` holds the 9 answers, each 0 (not at all) to 3 (nearly every day), ``None`` if
    unanswered. Total 0-27; bands [73]: 0-4 ``minimal``; 5-9 ``mild``; 10-14 ``moderate``;
    15-19 ``moderately_severe``; 20-27 ``severe``.

    If any item is unanswered the total and band are None (no proration), but
    ``item9_positive`` (item 9 > 0: self-harm thoughts → immediate clinical follow-up regardless of
    the total [73b]) is still reported whenever item 9 itself is answered.

    Raises ValueError if there are not exactly 9 items or an item is not an integer 0-3.
    """
    values = _check_items("PHQ-9", items, 9, 0, 3)
    item9 = values[8]
    item9_positive = None if item9 is None else item9 > 0
    total = _sum_of(values, range(1, 10))
    if total is None:
        return Phq9Result(None, None, item9_positive, False)
    return Phq9Result(total, _phq9_band(total), item9_positive, True)


# ---------------------------------------------------------------------------------------------
# Pain Catastrophizing Scale
# ---------------------------------------------------------------------------------------------

PCS_RUMINATION_ITEMS: tuple[int, ...] = (8, 9, 10, 11)
PCS_MAGNIFICATION_ITEMS: tuple[int, ...] = (6, 7, 13)
PCS_HELPLESSNESS_ITEMS: tuple[int, ...] = (1, 2, 3, 4, 5, 12)


@dataclass(frozen=True, slots=True)
class PcsResult:
    """A PCS score; each part is None when one of its items is unanswered."""

    total: int | None
    rumination: int | None
    magnification: int | None
    helplessness: int | None
    complete: bool


def pcs(items: Sequence[int | None]) -> PcsResult:
    """Score the Pain Catastrophizing Scale (REFERENCE.md §9.5, source [75]).

    ``items`` holds the 13 answers, each 0 (not at all) to 4 (all the time), ``None`` if
    unanswered. Total 0-52; subscales [75]: rumination = items 8-11 (0-16); magnification =
    items 6, 7, 13 (0-12); helplessness = items 1-5 and 12 (0-24).

    No proration: the total, and any subscale with an unanswered item, is None. The clinical
    cut-off (total ≥30, boundary configurable per §9.5) is left to the rules.

    Raises ValueError if there are not exactly 13 items or an item is not an integer 0-4.
    """
    values = _check_items("PCS", items, 13, 0, 4)
    total = _sum_of(values, range(1, 14))
    return PcsResult(
        total=total,
        rumination=_sum_of(values, PCS_RUMINATION_ITEMS),
        magnification=_sum_of(values, PCS_MAGNIFICATION_ITEMS),
        helplessness=_sum_of(values, PCS_HELPLESSNESS_ITEMS),
        complete=total is not None,
    )


# ---------------------------------------------------------------------------------------------
# Keele STarT Back Screening Tool
# ---------------------------------------------------------------------------------------------

StartBackRisk = Literal["low", "medium", "high"]
START_BACK_PSYCHOSOCIAL_ITEMS: tuple[int, ...] = (5, 6, 7, 8, 9)


@dataclass(frozen=True, slots=True)
class StartBackResult:
    """A STarT Back score. ``risk`` may be known even when a total is not (see start_back)."""

    total: int | None
    psychosocial: int | None
    risk: StartBackRisk | None
    complete: bool


def _start_back_risk(total: int, psychosocial: int) -> StartBackRisk:
    if psychosocial >= 4:
        return "high"
    if total <= 3:
        return "low"
    return "medium"


def start_back(items: Sequence[int | None]) -> StartBackResult:
    """Score the 9-item Keele STarT Back Screening Tool (REFERENCE.md §9.4, source [74]).

    ``items`` holds the 9 answers as **already dichotomised** 0/1 values (``None`` if
    unanswered): items 1-8 agree = 1, disagree = 0; item 9 (bothersomeness, a 5-point scale) must
    be passed as 1 only if the answer was "very much" or "extremely", else 0 — the caller does
    that mapping.

    Overall total 0-9; psychosocial subscale = items 5-9 (0-5) [74] (one database orders the items
    differently [74c]; §10). Risk groups [74]: total ≤3 → ``low``; total ≥4 and subscale ≤3 →
    ``medium``; subscale ≥4 → ``high``.

    With unanswered items, ``total`` / ``psychosocial`` are None when they include one; ``risk`` is
    still reported if it is the same for every possible answer to the unanswered items (e.g. a
    subscale of 4 is ``high`` whatever items 1-4 were), and None otherwise.
    Tool caveat: developed for primary-care low back pain, not validated for FBSS (§9.4).

    Raises ValueError if there are not exactly 9 items or an item is not 0 or 1.
    """
    values = _check_items("STarT Back", items, 9, 0, 1)
    total = _sum_of(values, range(1, 10))
    psychosocial = _sum_of(values, START_BACK_PSYCHOSOCIAL_ITEMS)
    missing = [i for i, v in enumerate(values) if v is None]
    risks: set[StartBackRisk] = set()
    for fill in itertools.product((0, 1), repeat=len(missing)):
        completed = [0 if v is None else v for v in values]
        for index, value in zip(missing, fill, strict=True):
            completed[index] = value
        full_psychosocial = sum(completed[i - 1] for i in START_BACK_PSYCHOSOCIAL_ITEMS)
        risks.add(_start_back_risk(sum(completed), full_psychosocial))
    risk = risks.pop() if len(risks) == 1 else None
    return StartBackResult(total, psychosocial, risk, not missing)


# ---------------------------------------------------------------------------------------------
# Percent relief
# ---------------------------------------------------------------------------------------------


def percent_relief(pre: float, post: float) -> float:
    """Percent pain relief ``(pre − post) / pre × 100`` (REFERENCE.md §9.2, sources [3][44][46]).

    ``pre`` is the baseline score (e.g. NRS before a block or trial) and must be > 0; ``post`` is
    the follow-up score and must be ≥ 0. A negative result means the pain got worse. The success
    threshold (e.g. ≥50 % for an SCS trial [44][46]) is left to the rules.

    Raises ValueError for a non-finite value, ``pre <= 0`` or ``post < 0``.
    """
    if not (math.isfinite(pre) and math.isfinite(post)):
        raise ValueError(f"percent_relief needs finite scores, got pre={pre!r}, post={post!r}")
    if pre <= 0:
        raise ValueError(f"percent_relief needs a baseline (pre) score > 0, got {pre!r}")
    if post < 0:
        raise ValueError(f"percent_relief needs a follow-up (post) score >= 0, got {post!r}")
    return (pre - post) / pre * 100

"""The mapping data: well-formed, sourced, consistent with the unit table, no invented codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from revspine.adapters.fhir._maps import VERIFIED, load_maps
from revspine.domain.units import ANALYTES

pytestmark = pytest.mark.req("REQ-401", "HAZ-006")

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "clinical" / "REFERENCE.md"
MAPS = load_maps()


def test_every_file_has_a_version_and_every_row_a_verified_flag() -> None:
    assert set(MAPS.versions) == {"codes.csv", "keywords.csv", "targets.csv"}
    assert all(row.verified in VERIFIED for row in MAPS.rows)
    assert all(row.source for row in MAPS.rows)


def test_lab_loinc_codes_agree_with_the_unit_table() -> None:
    mapped = {(row.code, row.target[4:]) for row in MAPS.rows if row.target.startswith("lab:")}
    table = {(code, test) for test, spec in ANALYTES.items() for code in spec.loinc}
    assert mapped == table


def test_codes_said_to_come_from_reference_are_in_reference() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for row in MAPS.rows:
        if row.verified == "local" or not row.source.startswith("REFERENCE"):
            continue
        code = row.code
        assert code in text, f"codes.csv line {row.line}: {code} is not in REFERENCE.md"


def test_codes_not_in_reference_are_marked_unverified() -> None:
    for row in MAPS.rows:
        if row.source.startswith("not in REFERENCE"):
            assert row.verified == "unverified", f"codes.csv line {row.line}"


def test_hs_crp_is_refused_not_mapped() -> None:
    (row,) = MAPS.lookup("Observation", "http://loinc.org", "30522-7")
    assert row.target.startswith("refuse:")


@pytest.mark.parametrize("target", sorted(MAPS.targets))
def test_export_text_maps_back_to_its_own_target_only(target: str) -> None:
    text = MAPS.targets[target].export_text
    if MAPS.export_row("Condition", target) is not None:
        return  # exported with a code
    fired = {rule.target for rule in MAPS.match_text("condition", text)}
    assert fired == {target}

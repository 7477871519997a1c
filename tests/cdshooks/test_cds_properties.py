"""Property tests: over generated cases, every response has no null or empty member, every card
summary is under 140 characters and every card validates and names its rules."""

from __future__ import annotations

import asyncio
from typing import Any

import jsonschema
import orjson
import pytest
from cds_schemas import RESPONSE
from cdstools import (
    FakeClock,
    draft_orders,
    empty_members,
    prefetch_from_bundle,
    request_body,
    with_patient_id,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import case_dicts

from revspine.adapters.cdshooks import CdsService, CdsSettings, strip_empty, summary_text
from revspine.adapters.fhir import case_to_bundle
from revspine.domain.case import Case

pytestmark = pytest.mark.req("REQ-403")

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)


class Native:
    """A CaseSource giving the generated case in full (symptoms, exam, imaging are not in FHIR)."""

    def __init__(self) -> None:
        self.case: Case | None = None

    def complete(self, case: Case, patient_id: str) -> Case:
        assert self.case is not None
        return self.case


def _service(enriched: bool) -> tuple[CdsService, Native]:
    native = Native()
    service = CdsService(
        CdsSettings(allow_unsigned=True),
        clock=FakeClock(),
        case_source=native if enriched else None,
    )
    return service, native


def _check(response: dict[str, Any]) -> None:
    wire = orjson.loads(orjson.dumps(response))
    assert empty_members(wire) == []
    jsonschema.validate(wire, RESPONSE)
    for card in wire["cards"]:
        assert len(card["summary"]) < 140 and "\n" not in card["summary"]
        assert card["extension"]["revspine.ruleIds"]
        assert "Rules: " in card["detail"]


@pytest.mark.req("REQ-202")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=case_dicts(),
    enriched=st.booleans(),
    order=st.sampled_from(
        [
            "",
            "Revision lumbar fusion L4-S1",
            "Lumbar decompression",
            "Removal of pedicle screws L4-L5",
        ]
    ),
)
def test_responses_have_no_empty_members_and_short_summaries(
    case: dict[str, Any], enriched: bool, order: str
) -> None:
    parsed = Case.model_validate(case)
    service, native = _service(enriched)
    native.case = parsed
    prefetch = prefetch_from_bundle(with_patient_id(case_to_bundle(parsed)))
    if order:
        body = request_body("order-sign", prefetch, context={"draftOrders": draft_orders(order)})
        service_id = "revspine-order-sign"
    else:
        body = request_body("patient-view", prefetch)
        service_id = "revspine-patient-view"
    _check(asyncio.run(service.call(service_id, orjson.dumps(body))))


@given(text=st.text(max_size=400))
def test_summary_text_is_always_short_and_one_line(text: str) -> None:
    out = summary_text(text)
    assert len(out) < 140 and "\n" not in out
    if len(" ".join(text.split())) < 140:
        assert out == " ".join(text.split())


@given(value=JSONISH)
def test_strip_empty_leaves_no_empty_member(value: Any) -> None:
    stripped = strip_empty({"x": value})
    assert empty_members(stripped) == []
    assert strip_empty(stripped) == stripped

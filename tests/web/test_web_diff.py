""" "What changed since the last version" and the replayability of stored versions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from webtools import example, example_names

from revspine.knowledge import Knowledge
from revspine.settings import Settings
from revspine.storage import CaseVersion, open_store
from revspine.web.context import AppContext
from revspine.web.credentials import Passwords
from revspine.web.diff import fact_changes, recommendation_changes
from revspine.web.service import evaluate, stored_assessment, stored_case

pytestmark = pytest.mark.req("REQ-503")


def test_fact_changes_compare_leaves_by_path() -> None:
    before = {
        "patient": {"age": 60, "sex": "female"},
        "labs": [{"test": "crp", "value": 4}],
        "levels": ["L4-L5"],
    }
    after = {
        "patient": {"age": 61},
        "labs": [{"test": "crp", "value": 4}, {"test": "esr", "value": 30}],
        "levels": ["L4-L5", "L5-S1"],
    }
    changes = [(c.key, c.kind, c.before, c.after) for c in fact_changes(before, after)]
    assert changes == [
        ("labs[1].test", "added", None, "esr"),
        ("labs[1].value", "added", None, 30),
        ("levels", "changed", ["L4-L5"], ["L4-L5", "L5-S1"]),
        ("patient.age", "changed", 60, 61),
        ("patient.sex", "removed", "female", None),
    ]
    assert fact_changes(before, before) == []


def test_recommendation_changes_follow_items_by_key() -> None:
    before = {
        "disposition": {"code": "incomplete_workup"},
        "workup": [{"test": "ct", "priority": "routine", "blocks_decision": True}],
        "differential": [{"cause": "pseudarthrosis", "likelihood": "moderate", "rank": 1}],
    }
    after = {
        "disposition": {"code": "surgical_candidate"},
        "workup": [],
        "differential": [{"cause": "pseudarthrosis", "likelihood": "high", "rank": 1}],
        "optimisation": [
            {"code": "smoking_cessation", "status": "not_met", "text": "Stop smoking"}
        ],
    }
    changes = [(c.section, c.key, c.kind) for c in recommendation_changes(before, after)]
    assert changes == [
        ("disposition", "disposition", "changed"),
        ("differential", "pseudarthrosis", "changed"),
        ("workup", "ct", "removed"),
        ("optimisation", "smoking_cessation", "added"),
    ]


@pytest.fixture(scope="module")
def ctx(knowledge: Knowledge) -> Iterator[AppContext]:
    store = open_store("sqlite://")
    yield AppContext(
        settings=Settings(),
        store=store,
        knowledge=knowledge,
        clock=lambda: datetime(2026, 11, 25, tzinfo=UTC),
        secret=b"s" * 40,
        passwords=Passwords(time_cost=1, memory_kib=8, parallelism=1),
    )
    store.close()


@pytest.mark.parametrize("name", example_names())
def test_every_example_replays_from_its_stored_version(ctx: AppContext, name: str) -> None:
    from revspine.casefile import load_case_data

    case = load_case_data(json.loads(json.dumps(example(name), default=str)), name)
    first = evaluate(ctx, case, None)
    stored = CaseVersion(
        case_id=case.case_id or "X",
        version=1,
        created_by="t",
        created_at=ctx.clock(),
        as_of=first.as_of,
        input_sha256=first.version.input_sha256,
        knowledge_id=first.version.knowledge_id,
        knowledge_version=first.version.knowledge_version,
        knowledge_sha256=first.version.knowledge_sha256,
        disposition=first.version.disposition,
        case_json=first.version.case_json,
        assessment_json=first.version.assessment_json,
    )
    again = evaluate(ctx, stored_case(stored), first.as_of)
    assert again.version.input_sha256 == first.version.input_sha256
    assert again.version.assessment_json == first.version.assessment_json
    assert stored_assessment(stored) == first.assessment

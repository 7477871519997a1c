"""Feedback (CDS Hooks 2.0 §Feedback): accepted/overridden outcomes stored once, tied to the
rules of the card, malformed bodies refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cdstools import (
    SIGN,
    Client,
    FakeClock,
    Keys,
    auth,
    draft_orders,
    example_case,
    fhir_bundle,
    prefetch_from_bundle,
    request_body,
)

from revspine.adapters.cdshooks import CdsService, InMemoryFeedbackStore

pytestmark = pytest.mark.req("REQ-403")

FEEDBACK = f"/cds-services/{SIGN}/feedback"


def _post(client: Client, keys: Keys, clock: FakeClock, path: str, body: Any) -> httpx.Response:
    return client.post(path, json=body, headers=auth(keys, path, clock))


def _cards(client: Client, keys: Keys, clock: FakeClock) -> list[dict[str, Any]]:
    body = request_body(
        "order-sign",
        prefetch_from_bundle(fhir_bundle(example_case("07_suspected_pseudarthrosis_no_ct"))),
        context={"draftOrders": draft_orders("Revision lumbar fusion L4-S1")},
    )
    response = _post(client, keys, clock, f"/cds-services/{SIGN}", body)
    assert response.status_code == 200
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def test_feedback_is_idempotent_and_carries_the_rule_ids(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    store = InMemoryFeedbackStore()
    client, _ = make_client(feedback_store=store)
    card = next(c for c in _cards(client, keys, clock) if c.get("suggestions"))
    accepted = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2026-11-01T09:05:00Z",
            }
        ]
    }
    for _ in range(3):  # the client may report the same outcome more than once
        response = _post(client, keys, clock, FEEDBACK, accepted)
        assert response.status_code == 200 and response.content == b""
    records = store.records()
    assert len(records) == 1
    assert records[0].known_card and "WU006" in records[0].rule_ids
    assert records[0].accepted_suggestions == (card["suggestions"][0]["uuid"],)

    overridden = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": card["overrideReasons"][0],
                    "userComment": "ESR/CRP done at the referring hospital last week.",
                },
                "outcomeTimestamp": "2026-11-01T09:06:00+01:00",
            }
        ]
    }
    assert _post(client, keys, clock, FEEDBACK, overridden).status_code == 200
    assert _post(client, keys, clock, FEEDBACK, overridden).status_code == 200
    assert [r.outcome for r in store.records()] == ["accepted", "overridden"]
    assert store.records()[1].override_code == "results-elsewhere"
    assert store.records()[1].outcome_timestamp == "2026-11-01T08:06:00+00:00"


def test_feedback_for_an_unknown_card_is_kept_and_marked(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    store = InMemoryFeedbackStore()
    client, _ = make_client(feedback_store=store)
    body = {
        "feedback": [
            {
                "card": "not-ours",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-01T09:00:00Z",
            }
        ]
    }
    assert _post(client, keys, clock, FEEDBACK, body).status_code == 200
    assert store.records()[0].known_card is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"feedback": []},
        {
            "feedback": [
                {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-01T09:00:00Z"}
            ]
        },
        {
            "feedback": [
                {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-01T09:00:00Z"}
            ]
        },
        {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}]},
        {
            "feedback": [
                {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-01T09:00:00"}
            ]
        },
    ],
)
def test_malformed_feedback_is_400(body, signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    response = _post(client, keys, clock, FEEDBACK, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_feedback_for_an_unknown_service_is_404(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    path = "/cds-services/nope/feedback"
    body = {
        "feedback": [
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-01T09:00:00Z"}
        ]
    }
    assert _post(client, keys, clock, path, body).status_code == 404


def test_feedback_size_is_bounded(make_client, keys, clock, settings) -> None:  # type: ignore[no-untyped-def]
    from revspine.adapters.cdshooks import CdsSettings

    client, _ = make_client(settings=CdsSettings(issuers=settings.issuers, feedback_max_items=2))
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-01T09:00:00Z"}
    assert _post(client, keys, clock, FEEDBACK, {"feedback": [item] * 3}).status_code == 400
    assert isinstance(CdsService, type)

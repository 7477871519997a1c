"""Audit entries written by the web app, exported as FHIR R4 AuditEvents (IHE BALP style)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from webtools import Client, case_json, sign_in

from revspine.storage import SqlStore, User
from revspine.storage.fhir_audit import audit_bundle

pytestmark = pytest.mark.req("REQ-502")


def test_web_events_map_to_valid_audit_events(
    client_for: Callable[..., Client],
    make_user: Callable[..., User],
    make_token: Callable[[str], str],
    store: SqlStore,
) -> None:
    make_user("carol")
    browser = client_for("192.0.2.77")
    sign_in(browser, "carol", "wrong password here")
    sign_in(browser, "carol")
    api = client_for("192.0.2.78")
    api.headers["Authorization"] = f"Bearer {make_token('carol')}"
    api.post("/api/v1/cases", content=case_json("FH1"))
    api.get("/api/v1/cases/FH1")
    api.put("/api/v1/cases/FH1", content=case_json("FH1"), headers={"If-Match": '"7"'})
    entries = list(store.iter_audit())
    bundle = audit_bundle(entries, "0.1.0", datetime(2026, 11, 25, tzinfo=UTC))
    Bundle.model_validate(bundle)  # every entry is a valid R4 AuditEvent in a valid Bundle
    by_action = {}
    for entry, item in zip(entries, bundle["entry"], strict=True):
        by_action.setdefault(entry.action, item["resource"])
    failed = by_action["login_failed"]
    assert failed["type"]["code"] == "110114" and failed["subtype"][0]["code"] == "110122"
    assert failed["outcome"] == "4" and failed["outcomeDesc"] == "wrong password"
    assert failed["agent"][0]["network"] == {"address": "192.0.2.77", "type": "2"}
    assert by_action["login"]["outcome"] == "0"
    created = by_action["create"]
    assert (created["type"]["code"], created["subtype"][0]["code"], created["action"]) == (
        "rest",
        "create",
        "C",
    )
    assert created["entity"][0]["what"]["identifier"] == {
        "system": "urn:revspine:case",
        "value": "FH1",
    }
    assert created["agent"][0]["who"]["identifier"]["value"] == "carol"
    assert by_action["view"]["action"] == "R"
    update = by_action["update"]
    assert update["action"] == "U" and update["outcome"] == "4"
    assert "conflict" in update["outcomeDesc"]
    hashes = {
        d["valueString"]
        for r in bundle["entry"]
        for d in r["resource"]["entity"][0]["detail"]
        if d["type"] == "revspine-audit-hash"
    }
    assert hashes == {e.hash for e in entries}

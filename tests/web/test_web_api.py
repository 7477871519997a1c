"""The JSON API (/api/v1) in-process on SQLite and PostgreSQL: auth, validation, concurrency,
pagination, error bodies and the audit trail of every case access."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from webtools import Client, case_json, example

from revspine.storage import SqlStore, User

pytestmark = pytest.mark.req("REQ-501", "REQ-503", "REQ-502")

ERROR_KEYS = {"code", "message", "fields"}


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert ERROR_KEYS <= set(body["error"]), body
    return dict(body["error"])


def create(api: Client, case_id: str = "W1", **changes: Any) -> Any:
    return api.post(
        "/api/v1/cases",
        content=case_json(case_id, **changes),
        headers={"Content-Type": "application/json"},
    )


# -- authentication -------------------------------------------------------------------------
def test_requests_without_a_valid_token_are_refused(
    client_for: Callable[..., Client], api: Client
) -> None:
    anonymous = client_for()
    for method, url in [
        ("GET", "/api/v1/cases"),
        ("POST", "/api/v1/cases"),
        ("GET", "/api/v1/cases/W1"),
        ("POST", "/api/v1/assess"),
    ]:
        response = anonymous.request(method, url)
        assert response.status_code == 401, url
        assert response.headers["www-authenticate"] == "Bearer"
        assert error_of(response)["code"] == "unauthorized"
    wrong = anonymous.get("/api/v1/cases", headers={"Authorization": "Bearer rvs_not-a-token"})
    assert wrong.status_code == 401
    basic = anonymous.get("/api/v1/cases", headers={"Authorization": "Basic Y2Fyb2w6eA=="})
    assert basic.status_code == 401


def test_a_session_cookie_is_not_an_api_credential(
    client_for: Callable[..., Client], make_user: Callable[..., User]
) -> None:
    from webtools import sign_in

    make_user("dave")
    browser = client_for()
    assert sign_in(browser, "dave").status_code == 303
    assert browser.get("/cases").status_code == 200
    assert browser.get("/api/v1/cases").status_code == 401


def test_a_revoked_token_stops_working(api: Client, store: SqlStore) -> None:
    assert api.get("/api/v1/cases").status_code == 200
    from revspine.storage import AuditEvent

    token = store.list_tokens("carol")[0]
    store.revoke_token("carol", token.id, AuditEvent("test", "token_revoke", "user", "carol"))
    assert api.get("/api/v1/cases").status_code == 401


# -- create, read, list ----------------------------------------------------------------------
def test_create_then_read_a_case_its_versions_and_assessment(api: Client) -> None:
    created = create(api)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/cases/W1"
    assert created.headers["etag"] == '"1"'
    doc = created.json()
    assert doc["version"] == 1 and doc["created_by"] == "carol"
    assert doc["assessment"]["disposition"]["code"] == doc["disposition"]
    assert doc["knowledge"]["sha256"] == doc["assessment"]["knowledge"]["sha256"]
    assert len(doc["input_sha256"]) == 64
    assert doc["case"]["case_id"] == "W1"

    case = api.get("/api/v1/cases/W1")
    assert case.status_code == 200 and case.headers["etag"] == '"1"'
    assert case.json()["latest"]["assessment"] == doc["assessment"]
    versions = api.get("/api/v1/cases/W1/versions").json()["items"]
    assert [v["version"] for v in versions] == [1]
    assert "case" not in versions[0]
    one = api.get("/api/v1/cases/W1/versions/1").json()
    assert one["assessment"] == doc["assessment"]
    listed = api.get("/api/v1/cases").json()
    assert [c["case_id"] for c in listed["items"]] == ["W1"] and listed["next_cursor"] is None


def test_the_stored_assessment_is_the_engine_output(api: Client, knowledge: Any) -> None:
    from datetime import date

    from revspine.casefile import load_case_data
    from revspine.engine import assess

    doc = create(api).json()
    data = example()
    data["case_id"] = "W1"
    expected = assess(
        load_case_data(json.loads(json.dumps(data, default=str)), "t"), knowledge, date(2026, 11, 1)
    )
    assert doc["assessment"] == expected.model_dump(mode="json", by_alias=True)


def test_an_invalid_case_is_refused_with_field_paths_and_nothing_is_stored(
    api: Client, store: SqlStore
) -> None:
    bad = example()
    bad["case_id"] = "BAD1"
    bad["patient"]["age"] = 300
    bad["symptoms"]["fevr"] = True
    response = api.post("/api/v1/cases", content=json.dumps(bad, default=str))
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_case"
    paths = {f["path"] for f in error["fields"]}
    assert {"patient.age", "symptoms.fevr"} <= paths
    assert api.get("/api/v1/cases").json()["items"] == []
    assert store.list_cases(10).items == []
    attempt = store.list_audit(2)[1]
    assert (attempt.action, attempt.outcome, attempt.entity_id) == ("create", "failure", "BAD1")
    assert attempt.detail == "api: invalid case (2 problem(s))"


def test_syntax_errors_duplicate_keys_and_missing_ids_are_422(api: Client) -> None:
    broken = api.post("/api/v1/cases", content="{not json")
    assert broken.status_code == 422 and error_of(broken)["fields"][0]["path"] == "(syntax)"
    duplicate = api.post("/api/v1/cases", content='{"case_id": "D1", "case_id": "D2"}')
    assert (
        duplicate.status_code == 422 and "duplicate" in error_of(duplicate)["fields"][0]["message"]
    )
    no_id = json.loads(case_json())
    del no_id["case_id"]
    missing = api.post("/api/v1/cases", content=json.dumps(no_id))
    assert missing.status_code == 422 and error_of(missing)["fields"][0]["path"] == "case_id"
    slash = api.post("/api/v1/cases", content=case_json("a/b"))
    assert slash.status_code == 422 and error_of(slash)["fields"][0]["path"] == "case_id"
    future = api.post("/api/v1/cases", content=case_json("F1", assessment_date="2027-01-01"))
    assert future.status_code == 422 and error_of(future)["fields"][0]["path"] == "assessment_date"


def test_a_duplicate_case_id_is_a_conflict(api: Client) -> None:
    assert create(api).status_code == 201
    again = create(api)
    assert again.status_code == 409 and error_of(again)["code"] == "already_exists"


def test_unknown_cases_and_routes_are_json_404(api: Client) -> None:
    assert error_of(api.get("/api/v1/cases/NOPE"))["code"] == "not_found"
    assert api.get("/api/v1/cases/NOPE").status_code == 404
    assert api.get("/api/v1/nothing-here").status_code == 404
    create(api)
    assert api.get("/api/v1/cases/W1/versions/9").status_code == 404


# -- updates and optimistic concurrency --------------------------------------------------------
def test_updates_need_the_edited_version_and_a_stale_one_is_a_409(
    api: Client, store: SqlStore
) -> None:
    create(api)
    body = case_json("W1", surgeon="dr-second")
    no_precondition = api.put("/api/v1/cases/W1", content=body)
    assert no_precondition.status_code == 428
    assert error_of(no_precondition)["code"] == "precondition_required"
    second = api.put("/api/v1/cases/W1", content=body, headers={"If-Match": '"1"'})
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2 and second.headers["etag"] == '"2"'

    stale = api.put(
        "/api/v1/cases/W1", content=case_json("W1", surgeon="dr-stale"), headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 409
    error = error_of(stale)
    assert error["code"] == "version_conflict" and error["current_version"] == 2
    assert "nothing was stored" in error["message"]
    latest = api.get("/api/v1/cases/W1").json()
    assert latest["latest_version"] == 2 and latest["latest"]["case"]["surgeon"] == "dr-second"
    assert [v.version for v in store.list_versions("W1")] == [1, 2]

    third = api.put(
        "/api/v1/cases/W1?expected_version=2", content=case_json("W1", surgeon="dr-third")
    )
    assert third.status_code == 200 and third.json()["version"] == 3
    bad_tag = api.put("/api/v1/cases/W1", content=body, headers={"If-Match": "*"})
    assert bad_tag.status_code == 400


def test_an_update_cannot_change_the_case_id_and_may_omit_it(api: Client) -> None:
    create(api)
    moved = api.put("/api/v1/cases/W1", content=case_json("OTHER"), headers={"If-Match": '"1"'})
    assert moved.status_code == 422 and error_of(moved)["fields"][0]["path"] == "case_id"
    data = json.loads(case_json())
    del data["case_id"]
    kept = api.put("/api/v1/cases/W1", content=json.dumps(data), headers={"If-Match": '"1"'})
    assert kept.status_code == 200 and kept.json()["case"]["case_id"] == "W1"


def test_updating_a_missing_case_is_404(api: Client) -> None:
    response = api.put("/api/v1/cases/NOPE", content=case_json("NOPE"), headers={"If-Match": '"1"'})
    assert response.status_code == 404


def test_a_new_lab_changes_the_assessment_and_both_versions_are_kept(api: Client) -> None:
    data = json.loads(case_json("LAB1", name="07_suspected_pseudarthrosis_no_ct"))
    first = api.post("/api/v1/cases", content=json.dumps(data)).json()
    data.setdefault("labs", []).append(
        {"test": "hba1c", "value": 9.8, "unit": "%", "date": "2026-10-30"}
    )
    second = api.put("/api/v1/cases/LAB1", content=json.dumps(data), headers={"If-Match": '"1"'})
    assert second.status_code == 200, second.text
    assert second.json()["assessment"] != first["assessment"]
    assert api.get("/api/v1/cases/LAB1/versions/1").json()["assessment"] == first["assessment"]


# -- roles ---------------------------------------------------------------------------------------
def test_a_viewer_reads_but_cannot_write(
    api: Client,
    client_for: Callable[..., Client],
    make_user: Callable[..., User],
    make_token: Callable[[str], str],
    store: SqlStore,
) -> None:
    create(api)
    make_user("vera", "viewer")
    viewer = client_for()
    viewer.headers["Authorization"] = f"Bearer {make_token('vera')}"
    assert viewer.get("/api/v1/cases/W1").status_code == 200
    refused = viewer.post("/api/v1/cases", content=case_json("V1"))
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    refused_update = viewer.put(
        "/api/v1/cases/W1", content=case_json("W1"), headers={"If-Match": '"1"'}
    )
    assert refused_update.status_code == 403
    assert [v.version for v in store.list_versions("W1")] == [1]
    assert [c.case_id for c in store.list_cases(10).items] == ["W1"]
    refusals = [e for e in store.list_audit(20) if e.actor == "vera" and e.outcome == "failure"]
    assert {e.action for e in refusals} == {"create", "update"}
    assert viewer.get("/api/v1/settings").status_code == 403


def test_only_admins_read_the_settings_and_secrets_are_masked(
    client_for: Callable[..., Client],
    make_user: Callable[..., User],
    make_token: Callable[[str], str],
) -> None:
    make_user("root", "admin")
    admin = client_for()
    admin.headers["Authorization"] = f"Bearer {make_token('root')}"
    values = admin.get("/api/v1/settings").json()
    assert values["secret_key"] == "********"
    assert values["login_max_failures"] == 3


# -- assess without storing, pagination, OpenAPI -------------------------------------------------
def test_assess_returns_an_assessment_and_stores_nothing(api: Client, store: SqlStore) -> None:
    response = api.post("/api/v1/assess", content=case_json("A1"))
    assert response.status_code == 200
    assert response.json()["case_id"] == "A1" and "disposition" in response.json()
    assert store.list_cases(10).items == []
    assert store.list_audit(1)[0].action == "assess"
    as_of = api.post("/api/v1/assess?as_of=2026-11-10", content=case_json("A1"))
    assert as_of.json()["as_of"] == "2026-11-10"
    invalid = api.post("/api/v1/assess", content='{"patient": {"age": -1}}')
    assert invalid.status_code == 422 and error_of(invalid)["fields"][0]["path"] == "patient.age"


def test_list_pages_with_a_cursor_and_filters(api: Client) -> None:
    for i in range(5):
        create(api, f"P{i}")
    create(api, "URG", name="01_cauda_equina")
    first = api.get("/api/v1/cases?limit=2").json()
    assert [c["case_id"] for c in first["items"]] == ["P0", "P1"]
    second = api.get("/api/v1/cases", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["case_id"] for c in second["items"]] == ["P2", "P3"]
    urgent = api.get("/api/v1/cases?disposition=urgent").json()["items"]
    assert [c["case_id"] for c in urgent] == ["URG"]
    assert [c["case_id"] for c in api.get("/api/v1/cases?q=p4").json()["items"]] == ["P4"]
    assert api.get("/api/v1/cases?limit=0").status_code == 422
    assert (
        error_of(api.get("/api/v1/cases?disposition=maybe"))["fields"][0]["path"]
        == "query.disposition"
    )
    assert api.get("/api/v1/cases?cursor=%%%").status_code == 400


def test_the_openapi_document_describes_the_api(client_for: Callable[..., Client]) -> None:
    schema = client_for().get("/api/v1/openapi.json").json()
    assert {"/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/assess"} <= set(schema["paths"])
    assert not any(not p.startswith("/api/v1/") for p in schema["paths"])
    assert "Case" in schema["components"]["schemas"]
    assert schema["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/Case"}
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_oversized_bodies_are_refused(api: Client, store: SqlStore) -> None:
    response = api.post("/api/v1/cases", content=b"{" + b" " * 2_100_000 + b"}")
    assert response.status_code == 413

    async def streamed() -> Any:  # no Content-Length: counted while reading
        for _ in range(25):
            yield b" " * 100_000

    chunked = api.post("/api/v1/cases", content=streamed())
    assert chunked.status_code == 413 and error_of(chunked)["code"] == "payload_too_large"
    assert store.list_cases(10).items == []


def test_responses_carry_security_headers_and_are_not_cached(api: Client) -> None:
    response = api.get("/api/v1/cases")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


# -- the audit trail -------------------------------------------------------------------------------
def test_every_case_access_through_the_api_is_audited(api: Client, store: SqlStore) -> None:
    before = store.audit_state().head_seq
    create(api)
    api.get("/api/v1/cases/W1")
    api.get("/api/v1/cases/W1/versions")
    api.get("/api/v1/cases/W1/versions/1")
    api.put("/api/v1/cases/W1", content=case_json(), headers={"If-Match": '"1"'})
    api.put("/api/v1/cases/W1", content=case_json(), headers={"If-Match": '"1"'})  # stale
    api.get("/api/v1/cases/NOPE")
    api.get("/api/v1/cases?q=W")
    api.post("/api/v1/assess", content=case_json("W9"))
    entries = [e for e in reversed(store.list_audit(50)) if e.seq > before]
    seen = [(e.action, e.entity_id, e.outcome) for e in entries]
    assert seen == [
        ("create", "W1", "success"),
        ("view", "W1", "success"),
        ("view", "W1", "success"),
        ("view", "W1", "success"),
        ("update", "W1", "success"),
        ("update", "W1", "failure"),
        ("view", "NOPE", "failure"),
        ("query", None, "success"),
        ("assess", "W9", "success"),
    ]
    assert all(e.actor == "carol" and e.source_ip == "192.0.2.10" for e in entries)
    assert all((e.detail or "").startswith("api") for e in entries)
    assert entries[5].detail == "api: conflict: expected v1, latest v2"

"""Missing prefetch, the FHIR-server fallback and its failures, malformed requests: each gets a
clear JSON error with the right status (412, 502, 504, 400, 404, 422, 500)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from cdstools import (
    FHIR,
    ISSUER,
    PV,
    Client,
    FakeClock,
    Keys,
    auth,
    card_text,
    example_case,
    fhir_bundle,
    fhir_stub,
    prefetch_from_bundle,
    raising_transport,
    request_body,
)

from revspine.adapters.cdshooks import CdsService, CdsSettings

pytestmark = pytest.mark.req("REQ-403")

PATH = f"/cds-services/{PV}"


def _post(client: Client, keys: Keys, clock: FakeClock, body: Any, **kwargs: Any) -> httpx.Response:
    payload = {"json": body} if not isinstance(body, bytes) else {"content": body}
    return client.post(PATH, headers=auth(keys, PATH, clock), **payload, **kwargs)


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


@pytest.fixture
def bundle() -> dict[str, Any]:
    return fhir_bundle(example_case("07_suspected_pseudarthrosis_no_ct"))


@pytest.mark.req("HAZ-006")
def test_missing_prefetch_without_fhir_server_is_412(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    error = _error(
        _post(client, keys, clock, request_body("patient-view", None)), 412, "prefetch_missing"
    )
    assert error["missing"] == ["patient", "conditions", "observations", "procedures"]
    assert "no fhirServer" in error["message"]


def test_missing_optional_prefetch_is_noted_not_refused(signed, keys, clock, bundle) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    prefetch = prefetch_from_bundle(bundle)
    del prefetch["allergies"], prefetch["devices"]
    response = _post(client, keys, clock, request_body("patient-view", prefetch))
    assert response.status_code == 200
    assert "prefetch 'allergies' was not provided" in card_text(response.json())


def test_null_prefetch_means_no_data(signed, keys, clock, bundle) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    prefetch = {k: None for k in prefetch_from_bundle(bundle)}
    prefetch["patient"] = prefetch_from_bundle(bundle)["patient"]
    assert _post(client, keys, clock, request_body("patient-view", prefetch)).status_code == 200


def test_operation_outcome_prefetch_counts_as_missing(signed, keys, clock, bundle) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    prefetch = prefetch_from_bundle(bundle)
    prefetch["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    error = _error(
        _post(client, keys, clock, request_body("patient-view", prefetch)), 412, "prefetch_missing"
    )
    assert error["missing"] == ["conditions"]


def test_unreachable_fhir_server_is_502(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    transport = raising_transport(lambda r: httpx.ConnectError("connection refused", request=r))
    client, _ = make_client(fhir_transport=transport)
    body = request_body("patient-view", None, fhir_server=FHIR)
    error = _error(_post(client, keys, clock, body), 502, "fhir_server_error")
    assert "could not be reached" in error["message"]
    assert "stub-access-token" not in error["message"]


def test_slow_fhir_server_is_504_within_the_budget(make_client, keys, clock, settings) -> None:  # type: ignore[no-untyped-def]
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    fast = CdsSettings(issuers=settings.issuers, fhir_timeout_s=0.05)
    client, _ = make_client(settings=fast, fhir_transport=httpx.MockTransport(slow))
    body = request_body("patient-view", None, fhir_server=FHIR)
    _error(_post(client, keys, clock, body), 504, "fhir_server_timeout")


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (httpx.Response(403), 412, "prefetch_missing"),
        (httpx.Response(500), 502, "fhir_server_error"),
        (httpx.Response(200, content=b"<html>login</html>"), 502, "fhir_server_error"),
    ],
)
def test_fhir_server_failures(answer, status, code, make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(fhir_transport=httpx.MockTransport(lambda r: answer))
    _error(
        _post(client, keys, clock, request_body("patient-view", None, fhir_server=FHIR)),
        status,
        code,
    )


def test_plain_http_fhir_server_gets_no_token(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    log: list[httpx.Request] = []
    client, _ = make_client(fhir_transport=fhir_stub({"entry": []}, log))
    body = request_body("patient-view", None, fhir_server="http://fhir.example.org/r4")
    error = _error(_post(client, keys, clock, body), 412, "prefetch_missing")
    assert "not https" in error["message"] and log == []


def test_fhir_server_allow_list(make_client, keys, clock, settings, bundle) -> None:  # type: ignore[no-untyped-def]
    strict = CdsSettings(
        issuers=settings.issuers, fhir_server_allowlist=("https://fhir.example.org/",)
    )
    client, _ = make_client(settings=strict, fhir_transport=fhir_stub(bundle))
    assert (
        _post(client, keys, clock, request_body("patient-view", None, fhir_server=FHIR)).status_code
        == 200
    )
    other = request_body("patient-view", None, fhir_server="https://evil.example.net/fhir")
    assert (
        "allow-list"
        in _error(_post(client, keys, clock, other), 412, "prefetch_missing")["message"]
    )


def test_search_pages_are_followed_on_the_same_server_only(
    make_client, keys, clock, bundle
) -> None:  # type: ignore[no-untyped-def]
    stub = fhir_stub(bundle)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("/Condition") and "page" not in str(request.url):
            page = {
                "resourceType": "Bundle",
                "type": "searchset",
                "link": [{"relation": "next", "url": f"{FHIR}/Condition?patient=pat-1&page=2"}],
                "entry": [],
            }
            return httpx.Response(200, json=page)
        if request.url.path.endswith("/Procedure"):
            page = {
                "resourceType": "Bundle",
                "type": "searchset",
                "link": [
                    {"relation": "next", "url": "https://elsewhere.example.com/Procedure?page=2"}
                ],
                "entry": [],
            }
            return httpx.Response(200, json=page)
        return stub.handle_request(request)

    client, _ = make_client(fhir_transport=httpx.MockTransport(handler))
    response = _post(client, keys, clock, request_body("patient-view", None, fhir_server=FHIR))
    assert response.status_code == 200
    assert any("page=2" in u and u.startswith(FHIR) for u in seen)
    assert not any("elsewhere" in u for u in seen)


@pytest.mark.req("HAZ-021")
def test_prefetched_patient_must_be_the_context_patient(signed, keys, clock, bundle) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    prefetch = prefetch_from_bundle(bundle)
    prefetch["patient"] = dict(prefetch["patient"], id="someone-else")
    error = _error(
        _post(client, keys, clock, request_body("patient-view", prefetch)), 400, "invalid_request"
    )
    assert "mix patients" in error["message"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        ({"hookInstance": "x", "context": {}}, "invalid"),
        (
            {"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "p"}},
            "answers 'patient-view'",
        ),
        (
            {
                "hook": "patient-view",
                "hookInstance": "x",
                "context": {"patientId": "p"},
                "fhirAuthorization": {"access_token": "t"},
            },
            "invalid",
        ),
    ],
)
def test_malformed_requests_are_400_with_a_json_body(body, needle, signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    error = _error(_post(client, keys, clock, body), 400, "invalid_request")
    assert needle in error["message"]


def test_missing_field_is_named(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    error = _error(
        _post(client, keys, clock, {"hookInstance": "x", "context": {}}), 400, "invalid_request"
    )
    assert [f["path"] for f in error["fields"]] == ["hook"]


def test_unknown_service_is_404(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    path = "/cds-services/no-such-service"
    response = client.post(
        path, json=request_body("patient-view", None), headers=auth(keys, path, clock)
    )
    _error(response, 404, "unknown_service")


@pytest.mark.req("REQ-401", "HAZ-001")
def test_lab_in_an_unknown_unit_is_422(signed, keys, clock, bundle) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    prefetch = prefetch_from_bundle(bundle)
    crp = {
        "resourceType": "Observation",
        "id": "crp-weird",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1988-5"}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": "2026-10-20",
        "valueQuantity": {
            "value": 3,
            "unit": "furlongs",
            "system": "http://unitsofmeasure.org",
            "code": "[fur_us]",
        },
    }
    prefetch["observations"]["entry"].append({"resource": crp})
    error = _error(
        _post(client, keys, clock, request_body("patient-view", prefetch)),
        422,
        "unusable_fhir_data",
    )
    assert "refused" in error["message"]


def test_our_own_bug_is_500_logged_with_the_hook_instance(
    signed, keys, clock, bundle, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("revspine.adapters.cdshooks.service.assess", broken)
    body = request_body("patient-view", prefetch_from_bundle(bundle))
    with caplog.at_level(logging.ERROR, logger="revspine.cdshooks"):
        error = _error(_post(client, keys, clock, body), 500, "internal_error")
    assert "boom" not in error["message"]
    assert any(body["hookInstance"] in r.getMessage() for r in caplog.records)


def test_too_large_body_is_413(signed, keys, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    monkeypatch.setattr("revspine.web.cdshooks.MAX_BODY_BYTES", 100)
    _error(_post(client, keys, clock, request_body("patient-view", None)), 413, "payload_too_large")


def test_settings_from_environment_and_project_settings() -> None:
    env = {
        "REVSPINE_CDS_ISSUERS": '{"https://ehr.example.org": "https://ehr.example.org/jwks.json"}',
        "REVSPINE_CDS_BASE_URL": "https://cds.example.org/",
        "REVSPINE_CDS_FHIR_TIMEOUT_S": "1.5",
        "REVSPINE_CDS_FHIR_SERVER_ALLOWLIST": "https://a.example/, https://b.example/",
    }
    s = CdsSettings.from_env(env)
    assert s.issuers == {ISSUER: "https://ehr.example.org/jwks.json"}
    assert s.base_url == "https://cds.example.org" and s.fhir_timeout_s == 1.5
    assert s.fhir_server_allowlist == ("https://a.example/", "https://b.example/")

    class ProjectSettings:
        cds_allow_unsigned = "yes"
        cds_clock_skew_s = 5

    p = CdsSettings.from_settings(ProjectSettings())
    assert p.allow_unsigned is True and p.clock_skew_s == 5
    from revspine.errors import ConfigError

    for bad in ({"REVSPINE_CDS_ISSUERS": "[1]"}, {"REVSPINE_CDS_ALLOW_UNSIGNED": "maybe"}):
        with pytest.raises(ConfigError):
            CdsSettings.from_env(bad)
    assert isinstance(CdsService(CdsSettings(allow_unsigned=True)).discovery(), dict)

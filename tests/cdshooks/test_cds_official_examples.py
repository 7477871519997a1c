"""Every official CDS Hooks example request (shared/fixtures/external/cds-hooks-docs, read verbatim)
is served: a JSON answer with the right status, never a crash. The official patient-view request
against a FHIR server holding an FBSS patient gets a cited answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import pytest
from cds_schemas import RESPONSE
from cdstools import (
    BASE,
    CDS_DOCS,
    ISSUER,
    Client,
    FakeClock,
    Keys,
    auth,
    empty_members,
    example_case,
    fhir_bundle,
    fhir_stub,
    load_json,
    with_patient_id,
)

from revspine.adapters.cdshooks import CdsService, CdsSettings

pytestmark = pytest.mark.req("REQ-403")

SERVICE_FOR_HOOK = {
    "patient-view": "revspine-patient-view",
    "order-select": "revspine-order-select",
    "order-sign": "revspine-order-sign",
}
OFFICIAL_REQUESTS = [
    "request-patient-view.json",
    "example-opioid-request.json",
    "example-radiology-order-select-request.json",
]
EMPTY_PATIENT = {  # the EHR's record of the example patient: demographics only
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "resource": {
                "resourceType": "Patient",
                "id": "1288992",
                "gender": "male",
                "birthDate": "1925-12-23",
            }
        }
    ],
}


def _client(
    make_client: Callable[..., tuple[Client, CdsService]],
    keys: Keys,
    fhir: dict[str, Any] | None = None,
    log: list[httpx.Request] | None = None,
) -> Client:
    """JWT on; the example fhirServers are plain http, so https is not required here."""
    settings = CdsSettings(issuers={ISSUER: keys.jwks}, require_https_fhir=False)
    client, _ = make_client(settings=settings, fhir_transport=fhir_stub(fhir or EMPTY_PATIENT, log))
    return client


def _post(client: Client, keys: Keys, clock: FakeClock, path: str, body: Any) -> httpx.Response:
    return client.post(path, json=body, headers=auth(keys, path, clock))


def _valid(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    jsonschema.validate(body, RESPONSE)
    assert empty_members(body) == []
    return body


@pytest.mark.parametrize("name", OFFICIAL_REQUESTS)
def test_official_request_is_served(name, make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    request = load_json(CDS_DOCS / name)
    client = _client(make_client, keys)
    path = f"/cds-services/{SERVICE_FOR_HOOK[request['hook']]}"
    body = _valid(_post(client, keys, clock, path, request))
    # None of these patients has spine surgery on record or a spine operation ordered.
    assert body == {"cards": []}


def test_official_patient_view_request_fetches_and_gives_a_cited_answer(
    make_client, keys, clock
) -> None:  # type: ignore[no-untyped-def]
    """request-patient-view.json verbatim; its FHIR server holds an FBSS patient (EX07)."""
    request = load_json(CDS_DOCS / "request-patient-view.json")
    patient = with_patient_id(
        fhir_bundle(example_case("07_suspected_pseudarthrosis_no_ct")), "1288992"
    )
    log: list[httpx.Request] = []
    client = _client(make_client, keys, patient, log)
    body = _valid(_post(client, keys, clock, "/cds-services/revspine-patient-view", request))
    assert {str(r.url).split("?")[0].rsplit("/", 1)[-1] for r in log} >= {
        "Condition",
        "Observation",
    }
    assert all(r.headers["authorization"] == "Bearer some-opaque-fhir-access-token" for r in log)
    summaries = [c["summary"] for c in body["cards"]]
    assert any("workup incomplete" in s for s in summaries)
    for card in body["cards"]:
        assert card["extension"]["revspine.ruleIds"], card["summary"]
        assert "Rules: " in card["detail"]
        assert card["source"]["label"].startswith("revspine (knowledge ")


def test_request_without_patient_id_is_refused_clearly(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """request-with-extension.json has no context.patientId, which patient-view requires: 400
    with a JSON body naming it (the extension itself is accepted, see the next test)."""
    request = load_json(CDS_DOCS / "request-with-extension.json")
    client = _client(make_client, keys)
    response = _post(client, keys, clock, "/cds-services/revspine-patient-view", request)
    assert response.status_code == 400
    assert "context.patientId" in response.json()["error"]["message"]


def test_request_extension_is_accepted(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """Derived from request-with-extension.json: the same request with a patientId."""
    request = load_json(CDS_DOCS / "request-with-extension.json")
    request["context"]["patientId"] = "1288992"
    client = _client(make_client, keys)
    body = _valid(_post(client, keys, clock, "/cds-services/revspine-patient-view", request))
    assert body == {"cards": []}


@pytest.mark.parametrize(
    ("name", "hook"),
    [
        ("hook-order-sign-context-r4.json", "order-sign"),
        ("prefetch-token-context-order-select.json", "order-select"),
    ],
)
def test_official_order_contexts_are_served(name, hook, make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """The context examples wrapped in a request (they hold no spine surgery: no advice)."""
    context = load_json(CDS_DOCS / name)["context"]
    context.setdefault("patientId", "1288992")
    request = {
        "hook": hook,
        "hookInstance": "0d0d8b4e-2c8c-4b8a-9a55-9f6f3f7a0c11",
        "context": context,
    }
    client = _client(make_client, keys)
    body = _valid(_post(client, keys, clock, f"/cds-services/{SERVICE_FOR_HOOK[hook]}", request))
    assert body == {"cards": []}


def test_official_prefetch_data_is_tolerated(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """prefetch-data.json (placeholder '...' keys, a Patient without id, keys we did not ask
    for): read what is usable, fetch the rest from fhirServer."""
    prefetch = load_json(CDS_DOCS / "prefetch-data.json")["prefetch"]
    request = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://fhir.example.org/r4",
        "context": {"userId": "Practitioner/example", "patientId": "1288992"},
        "prefetch": prefetch,
    }
    client = _client(make_client, keys)
    _valid(_post(client, keys, clock, "/cds-services/revspine-patient-view", request))


@pytest.mark.parametrize(
    "name",
    ["feedback-accepted.json", "feedback-overridden.json", "feedback-overridden-with-reason.json"],
)
def test_official_feedback_is_accepted(name, make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client = _client(make_client, keys)
    path = "/cds-services/revspine-order-sign/feedback"
    response = _post(client, keys, clock, path, load_json(CDS_DOCS / name))
    assert response.status_code == 200
    assert BASE  # the token's aud was BASE + path

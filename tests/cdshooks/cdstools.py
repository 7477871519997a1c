"""Helpers for the CDS Hooks tests: a sync in-process client, signing keys and tokens, prefetch
built from FHIR bundles, a FHIR server stub (httpx MockTransport) and the response shapes."""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from revspine.adapters.fhir import case_to_bundle
from revspine.casefile import load_case
from revspine.domain.case import Case

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EXTERNAL = ROOT.parent / "shared" / "fixtures" / "external"
CDS_DOCS = EXTERNAL / "cds-hooks-docs"
SYNTHEA = EXTERNAL / "google-fhir-data-pipes-synthea"
PROPERTY_DIR = str(ROOT / "tests" / "property")
if PROPERTY_DIR not in sys.path:  # reuse the property tests' case strategies
    sys.path.insert(0, PROPERTY_DIR)

BASE = "http://testserver"
ISSUER = "https://ehr.example.org"
FHIR = "https://fhir.example.org/r4"
PATIENT_ID = "pat-1"
AS_OF = date(2026, 11, 1)
PV = "revspine-patient-view"
SIGN = "revspine-order-sign"
SELECT = "revspine-order-select"
_counter = itertools.count()


class FakeClock:
    """A clock the tests move by hand (UTC)."""

    def __init__(self, day: date = AS_OF) -> None:
        self.now = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Client:
    """A synchronous facade over ``httpx.AsyncClient`` + ``ASGITransport`` (no port)."""

    def __init__(self, app: Any) -> None:
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url=BASE)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


class Keys:
    """An ES384 and an RS384 signing key of the test EHR, and its public JWK Set."""

    def __init__(self) -> None:
        self.ec = ECKey.generate_key("P-384", parameters={"kid": "ec-1"})
        self.rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.ec.as_dict(private=False), self.rsa.as_dict(private=False)]}

    def token(
        self,
        aud: str | list[str],
        *,
        alg: str = "ES384",
        iss: str = ISSUER,
        now: datetime | None = None,
        lifetime: int = 300,
        jti: str | None = None,
        header: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        key: Any = None,
    ) -> str:
        """A signed client JWT for ``aud`` (claims per CDS Hooks 2.0)."""
        issued = int((now or FakeClock()()).timestamp())
        claims: dict[str, Any] = {
            "iss": iss,
            "aud": aud,
            "exp": issued + lifetime,
            "iat": issued,
            "jti": jti or str(uuid.uuid4()),
        }
        for name in drop:
            claims.pop(name, None)
        signing = key or (self.ec if alg == "ES384" else self.rsa)
        head = {"alg": alg, "typ": "JWT", "kid": signing.kid or "none"}
        head.update(header or {})
        head = {k: v for k, v in head.items() if v is not None}
        return jwt.encode(head, claims, signing, algorithms=[alg])


def unsigned_token(aud: str, now: datetime) -> str:
    """An ``alg: none`` token (joserfc refuses to make one, so it is assembled by hand)."""

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    t = int(now.timestamp())
    claims = {"iss": ISSUER, "aud": aud, "exp": t + 300, "iat": t, "jti": str(uuid.uuid4())}
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'ec-1'})}.{b64(claims)}."


def small_rsa_token(aud: str, now: datetime) -> str:
    """An RS384 token signed with a 1024-bit key (joserfc refuses to make such keys)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    t = int(now.timestamp())
    claims = {"iss": ISSUER, "aud": aud, "exp": t + 300, "iat": t, "jti": str(uuid.uuid4())}
    head = {"alg": "RS384", "typ": "JWT", "kid": "rsa-small"}
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA384())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "kid": "rsa-small",
        "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64(numbers.e.to_bytes(3, "big")),
    }
    SMALL_RSA_JWKS["keys"] = [jwk]
    return f"{signing_input}.{b64(signature)}"


SMALL_RSA_JWKS: dict[str, Any] = {"keys": []}


def hmac_token(aud: str, now: datetime, secret: bytes) -> str:
    t = int(now.timestamp())
    claims = {"iss": ISSUER, "aud": aud, "exp": t + 300, "iat": t, "jti": str(uuid.uuid4())}
    return jwt.encode(
        {"alg": "HS256", "typ": "JWT", "kid": "ec-1"}, claims, OctKey.import_key(secret)
    )


# -- FHIR data as prefetch ---------------------------------------------------------------------

_KEY_OF = {
    "Condition": "conditions",
    "Observation": "observations",
    "Procedure": "procedures",
    "AllergyIntolerance": "allergies",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
    "Device": "devices",
}


def with_patient_id(bundle: dict[str, Any], patient_id: str = PATIENT_ID) -> dict[str, Any]:
    """A copy of ``bundle`` whose Patient has ``patient_id`` (references follow)."""
    out = copy.deepcopy(bundle)
    old_refs: set[str] = set()
    for e in out["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Patient":
            if e.get("fullUrl"):
                old_refs.add(e["fullUrl"])
            if r.get("id"):
                old_refs.add(f"Patient/{r['id']}")
            r["id"] = patient_id
            e["fullUrl"] = f"{FHIR}/Patient/{patient_id}"
    text = json.dumps(out)
    for ref in old_refs:
        text = text.replace(f'"{ref}"', f'"Patient/{patient_id}"')
    return json.loads(text)


def prefetch_from_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """The prefetch an EHR would send for ``bundle`` (searchsets per resource type; every key
    present, ``null`` when there is nothing)."""
    out: dict[str, Any] = {k: None for k in [*_KEY_OF.values()]}
    out["patient"] = None
    for e in bundle["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Patient":
            out["patient"] = r
            continue
        key = _KEY_OF.get(r["resourceType"])
        if key is None:
            continue
        if out[key] is None:
            out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        entry = {"fullUrl": e.get("fullUrl") or f"{FHIR}/{r['resourceType']}/{r.get('id')}"}
        out[key]["entry"].append({**entry, "resource": r, "search": {"mode": "match"}})
    return out


def request_body(
    hook: str,
    prefetch: dict[str, Any] | None,
    *,
    context: dict[str, Any] | None = None,
    fhir_server: str | None = None,
    token: str | None = "stub-access-token",
) -> dict[str, Any]:
    """A CDS Hooks request for the test patient."""
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.UUID(int=next(_counter) + 1)),
        "context": {"userId": "Practitioner/dr-1", "patientId": PATIENT_ID, **(context or {})},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server:
        body["fhirServer"] = fhir_server
        if token:
            body["fhirAuthorization"] = {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "user/*.read",
                "subject": "revspine",
            }
    return body


def draft_orders(*texts: str, coding: dict[str, str] | None = None) -> dict[str, Any]:
    """A draftOrders Bundle of ServiceRequests with these texts (first may carry ``coding``)."""
    entries = []
    for i, text in enumerate(texts):
        code: dict[str, Any] = {"text": text}
        if coding and i == 0:
            code["coding"] = [coding]
        entries.append(
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "id": f"draft-{i + 1}",
                    "status": "draft",
                    "intent": "order",
                    "code": code,
                    "subject": {"reference": f"Patient/{PATIENT_ID}"},
                }
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def fhir_stub(
    bundle: dict[str, Any], log: list[httpx.Request] | None = None
) -> httpx.MockTransport:
    """A FHIR server serving ``bundle``'s resources: ``Patient/{id}`` reads and
    ``Type?patient=…`` searches (Observation filtered by ``code``)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if log is not None:
            log.append(request)
        path = urlsplit(str(request.url)).path.removeprefix(urlsplit(FHIR).path).strip("/")
        query = parse_qs(urlsplit(str(request.url)).query)
        resources = [e["resource"] for e in bundle["entry"]]
        if path.startswith("Patient/"):
            found = [r for r in resources if r["resourceType"] == "Patient"]
            return httpx.Response(200, json=found[0]) if found else httpx.Response(404)
        kind = path
        matches = [r for r in resources if r["resourceType"] == kind]
        if kind == "Observation" and "code" in query:
            wanted = {c.split("|")[-1] for c in query["code"][0].split(",")}
            matches = [
                r
                for r in matches
                if any(c.get("code") in wanted for c in r["code"].get("coding", []))
            ]
        entries = [{"resource": r, "search": {"mode": "match"}} for r in matches]
        return httpx.Response(
            200,
            json={
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(entries),
                "entry": entries,
            },
        )

    return httpx.MockTransport(handler)


def raising_transport(exc: Callable[[httpx.Request], Exception]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc(request)

    return httpx.MockTransport(handler)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# -- shapes -------------------------------------------------------------------------------------


def empty_members(value: Any, path: str = "$") -> list[str]:
    """Paths of null / "" / [] / {} members (the CDS Hooks JSON rule; ``{"cards": []}`` is the
    one allowed exception)."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if path == "$" and k == "cards" and v == []:
                continue
            if v is None or (isinstance(v, str | list | dict) and len(v) == 0):
                found.append(f"{path}.{k}")
            found += empty_members(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if v is None or (isinstance(v, str | list | dict) and len(v) == 0):
                found.append(f"{path}[{i}]")
            found += empty_members(v, f"{path}[{i}]")
    return found


def card_text(response: dict[str, Any]) -> str:
    """Every summary and detail of a response, joined (for 'names X' assertions)."""
    return "\n".join(c["summary"] + "\n" + c.get("detail", "") for c in response["cards"])


def auth(keys: Keys, path: str, clock: FakeClock, **kwargs: Any) -> dict[str, str]:
    """An Authorization header with a fresh ES384 token for ``BASE + path``."""
    return {"Authorization": f"Bearer {keys.token(BASE + path, now=clock(), **kwargs)}"}


def example_case(name: str, **update: Any) -> Case:
    """An example case (``examples/<name>.yaml``) with top-level fields replaced."""
    case = load_case(EXAMPLES / f"{name}.yaml")
    return case.model_copy(update=update) if update else case


def fhir_bundle(case: Case) -> dict[str, Any]:
    """The case as the EHR would hold it (FHIR R4), with the test patient's id."""
    return with_patient_id(case_to_bundle(case))

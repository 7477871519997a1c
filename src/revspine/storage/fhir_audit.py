"""The audit log as FHIR R4 ``AuditEvent`` resources in a ``Bundle`` (IHE BALP style).

Mapping (IHE Basic Audit Log Patterns, https://profiles.ihe.net/ITI/BALP/): case reads,
searches, creates and updates are RESTful interactions (type ``rest``, subtype the
``restful-interaction`` code, action R/E/C/U); exports are DICOM ``110106 Export``; sign-in
events are DICOM ``110114 User Authentication`` with subtype ``110122 Login`` / ``110123
Logout``; account changes are ``110137 User Security Attributes Changed``. Outcome: 0 success,
4 minor failure (a refused request), 8 serious failure (a server error). The user is the
requesting agent (with the client address); revspine is the observer and the server agent.
Each resource's id is the entry's sequence number; its chain hash is an entity detail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from revspine.storage.audit import format_ts
from revspine.storage.records import AuditEntry

_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_INTERACTION = "http://hl7.org/fhir/restful-interaction"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
_ROLE_TYPE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
_NAMESPACE = uuid.UUID("6f1b7a43-3b54-5a3c-9a0e-2d0c6a1f6c11")

_REST = {"system": _EVENT_TYPE, "code": "rest", "display": "Restful Operation"}
_AUTH = {"system": _DCM, "code": "110114", "display": "User Authentication"}
_EXPORT = {"system": _DCM, "code": "110106", "display": "Export"}
_SECURITY = {"system": _DCM, "code": "110137", "display": "User Security Attributes Changed"}
_AUDIT_USED = {"system": _DCM, "code": "110101", "display": "Audit Log Used"}


def _interaction(code: str) -> dict[str, str]:
    return {"system": _INTERACTION, "code": code}


#: action → (type, subtype or None, FHIR action code)
ACTIONS: dict[str, tuple[dict[str, str], dict[str, str] | None, str]] = {
    "view": (_REST, _interaction("read"), "R"),
    "query": (_REST, _interaction("search-type"), "E"),
    "create": (_REST, _interaction("create"), "C"),
    "update": (_REST, _interaction("update"), "U"),
    "assess": (_REST, _interaction("operation"), "E"),
    "export": (_EXPORT, None, "R"),
    "login": (_AUTH, {"system": _DCM, "code": "110122", "display": "Login"}, "E"),
    "login_failed": (_AUTH, {"system": _DCM, "code": "110122", "display": "Login"}, "E"),
    "logout": (_AUTH, {"system": _DCM, "code": "110123", "display": "Logout"}, "E"),
    "user_create": (_SECURITY, None, "C"),
    "user_update": (_SECURITY, None, "U"),
    "token_create": (_SECURITY, None, "C"),
    "token_revoke": (_SECURITY, None, "U"),
    "totp_enrol": (_SECURITY, None, "U"),
    "totp_remove": (_SECURITY, None, "U"),
    "audit_export": (_AUDIT_USED, None, "R"),
    "audit_prune": (_AUDIT_USED, None, "D"),
}
_OUTCOME = {"success": "0", "failure": "4", "error": "8"}


def _entity(entry: AuditEntry) -> dict[str, Any]:
    system = "urn:revspine:user" if entry.entity == "user" else f"urn:revspine:{entry.entity}"
    entity: dict[str, Any] = {
        "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
        "role": {"system": _OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
        "detail": [
            {"type": "revspine-audit-seq", "valueString": str(entry.seq)},
            {"type": "revspine-audit-hash", "valueString": entry.hash},
        ],
    }
    if entry.entity_id:
        entity["what"] = {"identifier": {"system": system, "value": entry.entity_id}}
    else:
        entity["what"] = {"display": f"{entry.entity} (no single record)"}
    if entry.detail:
        entity["detail"].append({"type": "revspine-detail", "valueString": entry.detail})
    return entity


def audit_event(entry: AuditEntry, version: str) -> dict[str, Any]:
    """One audit entry as a FHIR R4 AuditEvent resource (a plain mapping)."""
    event_type, subtype, action = ACTIONS.get(entry.action, (_REST, None, "E"))
    user: dict[str, Any] = {
        "type": {"coding": [{"system": _ROLE_TYPE, "code": "humanuser", "display": "human user"}]},
        "who": {"identifier": {"system": "urn:revspine:user", "value": entry.actor}},
        "requestor": True,
    }
    if entry.source_ip:
        user["network"] = {"address": entry.source_ip, "type": "2"}
    server = {
        "type": {"coding": [{"system": _DCM, "code": "110152", "display": "Destination Role ID"}]},
        "who": {"display": f"revspine {version}"},
        "requestor": False,
    }
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"revspine-audit-{entry.seq}",
        "type": event_type,
        "action": action,
        "recorded": entry.ts,
        "outcome": _OUTCOME.get(entry.outcome, "8"),
        "agent": [user, server],
        "source": {
            "site": "revspine",
            "observer": {"display": f"revspine {version}"},
            "type": [{"system": _SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
        "entity": [_entity(entry)],
    }
    if subtype is not None:
        resource["subtype"] = [subtype]
    if entry.outcome != "success" and entry.detail:
        resource["outcomeDesc"] = entry.detail
    return resource


def audit_bundle(entries: Iterable[AuditEntry], version: str, now: datetime) -> dict[str, Any]:
    """Audit entries as a FHIR R4 collection Bundle of AuditEvent resources."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": format_ts(now),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, entry.hash)}",
                "resource": audit_event(entry, version),
            }
            for entry in entries
        ],
    }

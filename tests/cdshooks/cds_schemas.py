"""JSON Schemas (draft 2020-12) of the CDS Hooks 2.0 discovery and service responses.

Written from the CDS Hooks 2.0 specification (cds-hooks.hl7.org/2.0, "Discovery", "CDS Service
Response", "Card Attributes") — stricter than cds-hooks/cds-validator (written for 1.0): 2.0
indicators (``critical``), ``selectionBehavior`` required with suggestions, Coding override
reasons, summary under 140 characters, and no empty members anywhere. The official examples in
shared/fixtures/external/cds-hooks-docs must validate (checked by the tests).
"""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string", "minLength": 1}
_EXTENSION = {"type": "object", "minProperties": 1}
_CODING = {
    "type": "object",
    "required": ["code"],
    "properties": {"code": _STRING, "system": _STRING, "display": _STRING},
}
_ACTION = {
    "type": "object",
    "required": ["type", "description"],
    "properties": {
        "type": {"enum": ["create", "update", "delete"]},
        "description": _STRING,
        "resource": {"type": "object", "required": ["resourceType"]},
        "resourceId": _STRING,
        "extension": _EXTENSION,
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"enum": ["create", "update"]}}},
            "then": {"required": ["resource"]},
        }
    ],
}
_SUGGESTION = {
    "type": "object",
    "required": ["label"],
    "properties": {
        "label": _STRING,
        "uuid": _STRING,
        "isRecommended": {"type": "boolean"},
        "actions": {"type": "array", "minItems": 1, "items": _ACTION},
        "extension": _EXTENSION,
    },
}
_LINK = {
    "type": "object",
    "required": ["label", "url", "type"],
    "properties": {
        "label": _STRING,
        "url": _STRING,
        "type": {"enum": ["absolute", "smart"]},
        "appContext": _STRING,
        "autolaunchable": {"type": "boolean"},
        "extension": _EXTENSION,
    },
}
CARD: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "indicator", "source"],
    "properties": {
        "uuid": _STRING,
        "summary": {"type": "string", "minLength": 1, "maxLength": 139},
        "detail": _STRING,
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": {
            "type": "object",
            "required": ["label"],
            "properties": {"label": _STRING, "url": _STRING, "icon": _STRING, "topic": _CODING},
        },
        "suggestions": {"type": "array", "minItems": 1, "items": _SUGGESTION},
        "selectionBehavior": {"enum": ["at-most-one", "any"]},
        "overrideReasons": {
            "type": "array",
            "minItems": 1,
            "items": {**_CODING, "required": ["code", "system", "display"]},
        },
        "links": {"type": "array", "minItems": 1, "items": _LINK},
        "extension": _EXTENSION,
    },
    "dependentRequired": {"suggestions": ["selectionBehavior"]},
}
RESPONSE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["cards"],
    "properties": {
        "cards": {"type": "array", "items": CARD},
        "systemActions": {"type": "array", "minItems": 1, "items": _ACTION},
    },
}
DISCOVERY: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["services"],
    "properties": {
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hook", "description", "id"],
                "properties": {
                    "hook": _STRING,
                    "title": _STRING,
                    "description": _STRING,
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9._~-]+$"},
                    "prefetch": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": _STRING,
                    },
                    "usageRequirements": _STRING,
                    "extension": _EXTENSION,
                },
            },
        },
        "extension": _EXTENSION,
    },
}

"""The CDS Hooks service, framework-free: discovery, a hook call, feedback, caller checks.

One call: parse the body → (order hooks) find the spine surgery among the draft orders, else no
advice → read the prefetch, fetch what is missing from ``fhirServer`` → import the FHIR data as a
case (``bundle_to_case``) → stop when the patient is outside revspine's scope (no spine surgery
on record, no failed-back-surgery problem, no revision ordered) → assess → render cards.
The web layer (``revspine.web.cdshooks``) only maps this to HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

import httpx

from revspine.adapters.cdshooks.auth import JwtVerifier, KeyStore, VerifiedCaller
from revspine.adapters.cdshooks.cards import FHIR_ONLY, CardContext, strip_empty
from revspine.adapters.cdshooks.config import CdsSettings
from revspine.adapters.cdshooks.errors import (
    CdsHooksRequestError,
    UnknownServiceError,
    UnusableDataError,
)
from revspine.adapters.cdshooks.feedback import (
    FeedbackRecord,
    FeedbackStore,
    InMemoryFeedbackStore,
    IssuedCards,
)
from revspine.adapters.cdshooks.fhirclient import FhirFetcher
from revspine.adapters.cdshooks.models import CdsRequest, FeedbackRequest, parse_body
from revspine.adapters.cdshooks.order_cards import order_cards
from revspine.adapters.cdshooks.orders import SpineOrder, find_spine_orders, scope_conditions
from revspine.adapters.cdshooks.patient_cards import patient_view_cards
from revspine.adapters.cdshooks.prefetch import Received, patient_bundle, read_prefetch, templates
from revspine.adapters.fhir import bundle_to_case
from revspine.domain.case import Case, PlannedProcedure
from revspine.engine import assess
from revspine.errors import FhirParseError
from revspine.knowledge import Knowledge, load_knowledge

__all__ = ["SERVICES", "CaseSource", "CdsService", "FhirOnly", "ServiceDefinition"]

_log = logging.getLogger("revspine.cdshooks")


@dataclass(frozen=True)
class ServiceDefinition:
    """One advertised CDS service."""

    id: str
    hook: str
    title: str
    description: str


SERVICES = (
    ServiceDefinition(
        "revspine-patient-view",
        "patient-view",
        "revspine: failed back surgery pathway",
        "For patients with persistent pain after spine surgery: red flags, the suggested next "
        "step and the workup still missing before any revision decision, each with its rules "
        "and evidence. No cards for patients without spine surgery or FBSS on record.",
    ),
    ServiceDefinition(
        "revspine-order-select",
        "order-select",
        "revspine: revision spine surgery order check",
        "When a spine operation (revision, fusion, decompression) is selected: warns if the "
        "workup is incomplete, the patient is not optimised (smoking, HbA1c, nutrition) or a red "
        "flag is open.",
    ),
    ServiceDefinition(
        "revspine-order-sign",
        "order-sign",
        "revspine: revision spine surgery order check before signing",
        "Before a spine operation is signed: warns, with override reasons, if the workup is "
        "incomplete, the patient is not optimised (smoking, HbA1c, nutrition) or a red flag is "
        "open. No card when everything is complete.",
    ),
)
_ORDER_HOOKS = frozenset({"order-select", "order-sign"})
COMPLETED = (
    "read from the record (labs, vital signs, smoking status, pain and PHQ-9 scores, "
    "conditions, procedures, allergies, medications) and completed with the case revspine "
    "holds for this patient (history, examination, imaging)."
)


class CaseSource(Protocol):
    """Completes the case read from FHIR with what the record cannot give (e.g. a stored case)."""

    def complete(self, case: Case, patient_id: str) -> Case:
        """The case to assess for ``patient_id``."""


class FhirOnly:
    """The default :class:`CaseSource`: the FHIR data alone."""

    def complete(self, case: Case, patient_id: str) -> Case:
        return case


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CdsService:
    """The revspine CDS Hooks service (one per process; holds caches, not patient data)."""

    def __init__(
        self,
        settings: CdsSettings | None = None,
        *,
        knowledge: Knowledge | None = None,
        clock: Callable[[], datetime] = _utc_now,
        fhir_transport: httpx.AsyncBaseTransport | None = None,
        jwks_transport: httpx.AsyncBaseTransport | None = None,
        feedback_store: FeedbackStore | None = None,
        case_source: CaseSource | None = None,
    ) -> None:
        self.settings = settings or CdsSettings()
        self.knowledge = knowledge or load_knowledge()
        self.clock = clock
        self.fetcher = FhirFetcher(self.settings, fhir_transport)
        keys = KeyStore(self.settings, jwks_transport)
        self.verifier = JwtVerifier(self.settings, keys, now=lambda: self.clock().timestamp())
        self.feedback_store: FeedbackStore = feedback_store or InMemoryFeedbackStore()
        self.case_source: CaseSource = case_source or FhirOnly()
        self.issued = IssuedCards()
        self.services = {s.id: s for s in SERVICES}
        if self.settings.allow_unsigned:
            _log.warning(
                "!!! CDS Hooks JWT verification is DISABLED (cds allow_unsigned): any caller can "
                "obtain patient advice from /cds-services. Development only - never in production."
            )
        elif not self.settings.issuers:
            _log.info("CDS Hooks: no trusted issuers configured; every call will get 401")

    def discovery(self) -> dict[str, Any]:
        """The discovery document (``GET /cds-services``)."""
        prefetch = templates()
        return {
            "services": [
                {
                    "hook": s.hook,
                    "id": s.id,
                    "title": s.title,
                    "description": s.description,
                    "prefetch": prefetch,
                    "usageRequirements": "Works best with every prefetch key honoured or a "
                    "fhirServer with fhirAuthorization; required keys: patient, conditions, "
                    "observations, procedures.",
                }
                for s in SERVICES
            ]
        }

    def service(self, service_id: str) -> ServiceDefinition:
        """The service with this id, else :class:`UnknownServiceError`."""
        found = self.services.get(service_id)
        if found is None:
            raise UnknownServiceError(service_id)
        return found

    async def authenticate(self, authorization: str | None, url: str) -> VerifiedCaller | None:
        """Check the caller's JWT for ``url`` (None when unsigned calls are allowed)."""
        if self.settings.allow_unsigned:
            return None
        return await self.verifier.verify(authorization, url)

    async def call(self, service_id: str, raw: bytes) -> dict[str, Any]:
        """Answer one hook call: ``{"cards": [...]}`` (no null or empty members)."""
        svc = self.service(service_id)
        request = parse_body(raw, CdsRequest)
        if request.hook != svc.hook:
            raise CdsHooksRequestError(
                f"service {svc.id!r} answers {svc.hook!r}, not {request.hook!r}"
            )
        patient_id = request.context_text("patientId")
        if patient_id is None:
            raise CdsHooksRequestError(f"context.patientId is required for {svc.hook}")
        orders: list[SpineOrder] = []
        if svc.hook in _ORDER_HOOKS:
            selections = request.context.get("selections") if svc.hook == "order-select" else None
            orders = find_spine_orders(request.context.get("draftOrders"), selections)
            if not orders:
                return {"cards": []}
        got = read_prefetch(request.prefetch)
        _check_patient(got, patient_id)
        await self.fetcher.complete(request, got)
        as_of = self.clock().date()
        case, notes, in_scope = self._case(got, patient_id, orders, as_of)
        if not in_scope:
            return {"cards": []}
        assessment = assess(case, self.knowledge, as_of)
        ctx = CardContext(
            request.hookInstance,
            svc.id,
            f"Patient/{patient_id}",
            tuple(notes),
            data_note=FHIR_ONLY if isinstance(self.case_source, FhirOnly) else COMPLETED,
        )
        cards = (
            order_cards(assessment, orders, ctx) if orders else patient_view_cards(assessment, ctx)
        )
        for card in cards:
            self.issued.remember(svc.id, card["uuid"], tuple(card["extension"]["revspine.ruleIds"]))
        return {"cards": strip_empty(cards)}

    def _case(
        self, got: Received, patient_id: str, orders: list[SpineOrder], as_of: date
    ) -> tuple[Case, list[str], bool]:
        bundle, dropped = patient_bundle(got.resources, patient_id)
        try:
            imported = bundle_to_case(bundle, as_of=as_of)
        except FhirParseError as exc:
            raise UnusableDataError(
                f"the patient's FHIR data cannot be used: {exc}", exc.path
            ) from None
        case = imported.case
        resources = [e["resource"] for e in bundle["entry"]]
        in_scope = (
            bool(case.surgeries)
            or bool(scope_conditions(resources))
            or any(o.revision for o in orders)
        )
        case = self.case_source.complete(case, patient_id)
        if orders:  # the order being placed is the planned procedure
            planned = PlannedProcedure(procedure=orders[0].planned, levels=list(orders[0].levels))
            case = case.model_copy(update={"planned_procedure": planned})
        notes = [*got.notes, *dropped, *(str(w) for w in imported.warnings[:5])]
        return case, notes, in_scope

    def feedback(self, service_id: str, raw: bytes) -> int:
        """Store the feedback entries (idempotent); the number that were new."""
        svc = self.service(service_id)
        body = parse_body(raw, FeedbackRequest)
        if len(body.feedback) > self.settings.feedback_max_items:
            raise CdsHooksRequestError(
                f"at most {self.settings.feedback_max_items} feedback entries per request"
            )
        new = 0
        for item in body.feedback:
            rules = self.issued.rule_ids(svc.id, item.card)
            new += self.feedback_store.record(FeedbackRecord.of(svc.id, item, rules))
        return new


def _check_patient(got: Received, patient_id: str) -> None:
    """Refuse a prefetched Patient that is not the patient in context (never mix patients)."""
    for _, r in got.resources:
        if r.get("resourceType") == "Patient" and r.get("id") not in (None, patient_id):
            raise CdsHooksRequestError(
                "the prefetched Patient is not context.patientId; refusing to mix patients"
            )

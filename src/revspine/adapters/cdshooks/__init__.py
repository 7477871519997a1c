"""CDS Hooks 2.0 adapter: revspine's advice inside the EHR, where revision surgery is ordered.

* :class:`CdsService` — discovery, hook calls (``patient-view``, ``order-select``,
  ``order-sign``), feedback and caller checks, free of any web framework;
* :class:`CdsSettings` — trusted issuers and JWT rules, FHIR call-back limits (JWT on by
  default; ``allow_unsigned`` only for development);
* prefetch templates and their expansion (:mod:`.prefetch`), the FHIR-server fallback
  (:mod:`.fhirclient`), spine-surgery order detection as data (:mod:`.orders`,
  ``maps/spine_orders.csv``), card rendering (:mod:`.cards`), JWT verification (:mod:`.auth`),
  idempotent feedback behind the :class:`FeedbackStore` port (:mod:`.feedback`).

The HTTP routes are in :mod:`revspine.web.cdshooks`.
"""

from __future__ import annotations

from revspine.adapters.cdshooks.cards import strip_empty, summary_text
from revspine.adapters.cdshooks.config import CdsSettings
from revspine.adapters.cdshooks.errors import (
    AuthenticationError,
    CdsHooksRequestError,
    FhirServerError,
    FhirServerTimeout,
    PrefetchMissingError,
    UnknownServiceError,
    UnusableDataError,
)
from revspine.adapters.cdshooks.feedback import (
    FeedbackRecord,
    FeedbackStore,
    InMemoryFeedbackStore,
)
from revspine.adapters.cdshooks.prefetch import prefetch_specs, templates
from revspine.adapters.cdshooks.service import SERVICES, CaseSource, CdsService, FhirOnly

__all__ = [
    "SERVICES",
    "AuthenticationError",
    "CaseSource",
    "CdsHooksRequestError",
    "CdsService",
    "CdsSettings",
    "FeedbackRecord",
    "FeedbackStore",
    "FhirOnly",
    "FhirServerError",
    "FhirServerTimeout",
    "InMemoryFeedbackStore",
    "PrefetchMissingError",
    "UnknownServiceError",
    "UnusableDataError",
    "prefetch_specs",
    "strip_empty",
    "summary_text",
    "templates",
]

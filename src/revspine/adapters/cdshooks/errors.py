"""The CDS Hooks adapter's errors. Each maps to one HTTP status in ``revspine.web.cdshooks``.

They sit under the project's tree (:class:`~revspine.errors.InputError` for what the client
sent, :class:`~revspine.errors.RevspineError` for the rest), so callers can catch them
generically. Messages never contain tokens or patient data.
"""

from __future__ import annotations

from revspine.errors import FieldProblem, InputError, RevspineError

__all__ = [
    "AuthenticationError",
    "CdsHooksRequestError",
    "FhirServerError",
    "FhirServerTimeout",
    "PrefetchMissingError",
    "UnknownServiceError",
    "UnusableDataError",
]


class CdsHooksRequestError(InputError):
    """A CDS Hooks request or feedback body is malformed (HTTP 400); ``problems`` names fields."""

    def __init__(self, message: str, problems: list[FieldProblem] | None = None) -> None:
        self.problems = problems or []
        self.message = message
        super().__init__(message)


class UnknownServiceError(CdsHooksRequestError):
    """No CDS service has this id (HTTP 404)."""

    def __init__(self, service_id: str) -> None:
        self.service_id = service_id
        super().__init__(f"no CDS service with id {service_id!r}; see GET /cds-services")


class PrefetchMissingError(InputError):
    """Required prefetch is missing and no FHIR server may be asked (HTTP 412)."""

    def __init__(self, keys: list[str], reason: str) -> None:
        self.keys = keys
        self.reason = reason
        super().__init__(f"required prefetch missing ({', '.join(keys)}): {reason}")


class UnusableDataError(InputError):
    """The patient's FHIR data was received but cannot be used (HTTP 422), e.g. a lab in an
    unknown unit: revspine refuses rather than guesses."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class FhirServerError(RevspineError):
    """The client's FHIR server failed while fetching missing prefetch (HTTP 502)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class FhirServerTimeout(FhirServerError):
    """The client's FHIR server did not answer within the time budget (HTTP 504)."""


class AuthenticationError(RevspineError):
    """The caller's JWT is missing or invalid (HTTP 401, bare). ``reason`` is for the log only
    and never leaves the server."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

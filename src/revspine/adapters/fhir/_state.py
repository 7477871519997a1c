"""Import state shared by the resource handlers: what was found, and what was not used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from revspine._memo import remember
from revspine.adapters.fhir import _json as j
from revspine.adapters.fhir._maps import Maps, load_maps

T = TypeVar("T")

__all__ = ["Best", "Entry", "ImportMessage", "State", "UnmappedItem"]


@dataclass(frozen=True)
class UnmappedItem:
    """Resources (or codes) that set no case field, counted."""

    resource_type: str
    code_system: str | None
    code: str | None
    display: str | None
    count: int
    reason: str | None = None

    def __str__(self) -> str:
        code = f" {self.code_system or '(no system)'}|{self.code}" if self.code else ""
        display = f" {self.display!r}" if self.display else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.resource_type}{code}{display} ×{self.count}{why}"


@dataclass(frozen=True)
class ImportMessage:
    """A warning or note about one resource of the bundle."""

    message: str
    path: str | None = None
    resource: str | None = None

    def __str__(self) -> str:
        where = self.resource or self.path
        return f"{where}: {self.message}" if where else self.message


@dataclass
class Best:
    """The most recent value seen for a single-valued fact (undated values rank lowest)."""

    value: Any = None
    when: date | None = None
    seen: bool = False

    def offer(self, value: Any, when: date | None) -> None:
        if not self.seen or (when or date.min) >= (self.when or date.min):
            self.value, self.when, self.seen = value, when, True


@dataclass(slots=True)
class Entry:
    """One resource of the bundle, its JSON path, its resourceType and the entry's fullUrl."""

    resource: dict[str, Any]
    path: str
    rtype: str
    full_url: Any = None
    _ref: str | None = field(default=None, repr=False, compare=False)

    @property
    def ref(self) -> str:
        """``Type/id``, or the resource's place when it has no id (worked out once)."""
        if self._ref is None:
            rid = self.resource.get("id")
            self._ref = (
                f"{self.rtype}/{rid}" if isinstance(rid, str) else f"{self.rtype} at {self.path}"
            )
        return self._ref


class State:
    """Facts collected from the bundle so far, with warnings, notes and unmapped items."""

    def __init__(self) -> None:
        self.maps: Maps = load_maps()
        self.warnings: list[ImportMessage] = []
        self.notes: list[ImportMessage] = []
        self.unmapped: dict[tuple[str, str | None, str | None], list[Any]] = {}
        self.entries: list[Entry] = []
        self._index: dict[str, dict[str, Any]] | None = None
        self.patient_keys: set[str] = set()
        self.patient: dict[str, Any] = {}
        self.case_id: str | None = None
        self.patient_ref: str | None = None
        self.weight, self.height = Best(), Best()
        self.smoking_obs = Best()
        self.smoking_cond: list[str] = []
        self.nrs = {"overall": Best(), "back": Best(), "leg": Best()}
        self.phq9 = {"psychosocial.phq9_total": Best(), "psychosocial.phq9_item9": Best()}
        self.labs: list[dict[str, Any]] = []
        self.flags: dict[str, list[tuple[Any, str]]] = {}
        self.surgeries: list[dict[str, Any]] = []
        self.allergies: list[dict[str, Any]] | None = None
        self.opioid: list[bool] = []

    @property
    def index(self) -> dict[str, dict[str, Any]]:
        """The bundle's resources by fullUrl and by ``Type/id`` (for references), in bundle
        order, later entries winning. Built on first use, once :attr:`entries` is complete:
        only a few resources hold references."""
        if self._index is None:
            self._index = {}
            for e in self.entries:
                if isinstance(e.full_url, str):
                    self._index[e.full_url] = e.resource
                rid = e.resource.get("id")
                if isinstance(rid, str):
                    self._index[f"{e.rtype}/{rid}"] = e.resource
        return self._index

    def by_concept(
        self,
        memo: str,
        e: Entry,
        cc: Any,
        read: Callable[..., T],
        given: tuple[Any, ...] = (),
    ) -> T:
        """``read(self, e, cc, *given)``: what a handler derives from the CodeableConcept ``cc``
        of ``e``, the maps and the hashable values ``given`` alone (``e`` only names the JSON
        path of an error).

        For a concept of a common shape (:func:`~._json.simple_concept`) the result is
        remembered in the maps' cache ``memo``, keyed by that shape and ``given``: extracts
        repeat the same few codes and texts in every record. Any other concept is read afresh,
        so its errors are raised as ever."""
        key = j.simple_concept(cc)
        if key is None:
            return read(self, e, cc, *given)
        cache = self.maps.memo(memo)
        found: T | None = cache.get((key, given))
        if found is None:
            found = remember(cache, (key, given), read(self, e, cc, *given))
        return found

    # -- bookkeeping ----------------------------------------------------------------------------

    def warn(self, e: Entry, message: str, path: str | None = None) -> None:
        self.warnings.append(ImportMessage(message, path or e.path, e.ref))

    def note(self, e: Entry, message: str) -> None:
        self.notes.append(ImportMessage(message, e.path, e.ref))

    def miss(
        self,
        rtype: str,
        coding: tuple[str, str, str | None] | None,
        text: str | None = None,
        reason: str | None = None,
    ) -> None:
        system, code, display = coding if coding else (None, None, text or None)
        slot = self.unmapped.setdefault((rtype, system or None, code), [0, display, reason])
        slot[0] += 1

    def miss_concept(self, e: Entry, cc: Any, path: str, reason: str | None = None) -> None:
        found = j.codings(cc, path)
        self.miss(e.rtype, found[0] if found else None, j.concept_text(cc) or None, reason)

"""Units for laboratory values and body measurements (UCUM unit strings).

Every analyte has one *canonical* unit in which the rules think (REFERENCE.md §4.4 and §8.4);
:func:`to_canonical` and :func:`from_canonical` convert a value between that unit and another.

Two paths, fastest first:

1. **Conversion table** (``_TABLE``) for the units labs actually report (REFERENCE.md §8.4).
   Every linear factor in the table is checked against pint in the test suite, so the table is a
   cache of pint, not a second source of truth. Two conversions are *not* dimensional and live
   only in the table (pint cannot derive them):

   * HbA1c ``mmol/mol`` (IFCC) ↔ ``%`` (NGSP): the affine master equation of REFERENCE.md §8.4
     [82], never the erroneous "×10" shortcut [114]. HbA1c therefore has **no** pint fallback:
     pint regards both ``%`` and ``mmol/mol`` as dimensionless and would silently apply a
     plain ratio.
   * 25-OH vitamin D ``nmol/L`` ↔ ``ng/mL``: molar ↔ mass, factor 2.496 from REFERENCE.md §8.4
     [81]. Other molar units for vitamin D are rejected (pint sees a dimension mismatch).

2. **pint fallback** for any other unit string that is valid (strict, case-sensitive) UCUM made of
   the atoms in ``_ATOMS`` and has the canonical unit's dimension, e.g. CRP in ``ug/mL``. pint is
   imported lazily, and its registry is created once and cached, so importing this module never
   imports pint.

Unit strings are case-sensitive UCUM (``mg/dL``, not ``mg/dl``). A few common human spellings are
accepted as documented aliases (see :func:`_normalise`): the micro sign ``µ``/``μ`` for ``u``,
``mm/hr``, ``lb``, ``in``, ``10^3``/``x10^9`` for ``10*3``/``10*9``, ``cells/uL`` and
``10*3/mm3``; ``{annotations}`` are ignored as UCUM prescribes.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from revspine._memo import remember
from revspine.errors import UnitError

__all__ = [
    "ANALYTES",
    "Analyte",
    "AnalyteSpec",
    "canonical_unit",
    "check_unit",
    "format_quantity",
    "from_canonical",
    "known_units",
    "to_canonical",
]

Analyte = Literal[
    "crp",
    "esr",
    "wbc",
    "albumin",
    "transferrin",
    "prealbumin",
    "total_lymphocyte_count",
    "hba1c",
    "vitamin_d",
    "procalcitonin",
    "weight",
    "height",
    "length",
]


@dataclass(frozen=True)
class AnalyteSpec:
    """What revspine knows about one measured quantity."""

    name: str
    """Human label, e.g. ``"C-reactive protein"``."""
    canonical_unit: str
    """The UCUM unit the rules use."""
    loinc: tuple[str, ...]
    """LOINC codes from REFERENCE.md §8.2 (empty for body measurements)."""


ANALYTES: Mapping[str, AnalyteSpec] = MappingProxyType(
    {
        # 1988-5 only: hs-CRP (30522-7) must not be used for infection work-up (§8.2).
        "crp": AnalyteSpec("C-reactive protein", "mg/L", ("1988-5",)),
        # 4537-7 Westergren; 30341-2 method unspecified (§8.2).
        "esr": AnalyteSpec("Erythrocyte sedimentation rate", "mm/h", ("4537-7", "30341-2")),
        "wbc": AnalyteSpec("White blood cell count", "/uL", ("6690-2",)),
        "albumin": AnalyteSpec("Albumin", "g/dL", ("1751-7",)),
        "transferrin": AnalyteSpec("Transferrin", "mg/dL", ("3034-6",)),
        "prealbumin": AnalyteSpec("Prealbumin (transthyretin)", "mg/dL", ("14338-8",)),
        "total_lymphocyte_count": AnalyteSpec("Total lymphocyte count", "/uL", ("731-0",)),
        # 4548-4 NGSP %; 59261-8 (IFCC) is marked [unverified - recalled] in §8.2 / §11 item 9.
        "hba1c": AnalyteSpec("Haemoglobin A1c", "%", ("4548-4", "59261-8")),
        # 62292-8 D2+D3; 1989-3 is the legacy 25-OH-D3 code "also seen" (§8.2).
        "vitamin_d": AnalyteSpec("25-hydroxyvitamin D", "ng/mL", ("62292-8", "1989-3")),
        "procalcitonin": AnalyteSpec("Procalcitonin", "ng/mL", ("33959-8",)),
        "weight": AnalyteSpec("Body weight", "kg", ()),
        "height": AnalyteSpec("Body height", "cm", ()),
        "length": AnalyteSpec("Length", "mm", ()),
    }
)


@dataclass(frozen=True)
class _Affine:
    """A non-proportional conversion: ``canonical = to_canonical(value)`` and back."""

    to_canonical: Callable[[float], float]
    from_canonical: Callable[[float], float]


# HbA1c master equation, REFERENCE.md §8.4 [82]:
#   NGSP (%) = 0.0915 × IFCC (mmol/mol) + 2.15
#   IFCC (mmol/mol) = 10.929 × NGSP (%) − 23.5
# The two published equations are not exact inverses (10.929 × 0.0915 ≠ 1). The NGSP equation
# is used towards the canonical unit and its exact inverse, IFCC = (NGSP − 2.15) / 0.0915, the
# other way (it differs from 10.929 × NGSP − 23.5 by < 0.01 mmol/mol over 4-15 %), so that the
# same result entered in either unit gives the same canonical value and the same advice.
_HBA1C_IFCC = _Affine(
    to_canonical=lambda ifcc: 0.0915 * ifcc + 2.15,
    from_canonical=lambda ngsp: (ngsp - 2.15) / 0.0915,
)

# Table factors: canonical value = value × factor. Canonical unit first for every analyte.
# Linear factors are checked against pint in tests/unit/test_units.py.
_COUNT_PER_UL: dict[str, float | _Affine] = {
    "/uL": 1.0,
    "10*3/uL": 1e3,
    "10*9/L": 1e3,  # 1 × 10^9/L = 1 × 10^3/µL (§8.4)
    "/mm3": 1.0,  # 1 mm³ = 1 µL
}
_TABLE: Mapping[str, Mapping[str, float | _Affine]] = MappingProxyType(
    {
        "crp": {"mg/L": 1.0, "mg/dL": 10.0},  # mg/L = mg/dL × 10 (§8.4)
        "esr": {"mm/h": 1.0, "mm/[hr]": 1.0},
        "wbc": dict(_COUNT_PER_UL),
        "total_lymphocyte_count": dict(_COUNT_PER_UL),
        "albumin": {"g/dL": 1.0, "g/L": 0.1},  # g/L = g/dL × 10 (§8.4)
        "transferrin": {"mg/dL": 1.0, "g/L": 100.0},  # g/L = mg/dL ÷ 100 (§8.4)
        "prealbumin": {"mg/dL": 1.0, "mg/L": 0.1, "g/L": 100.0},  # mg/L = mg/dL × 10 (§8.4)
        "hba1c": {"%": 1.0, "mmol/mol": _HBA1C_IFCC},  # affine, table only (§8.4 [82])
        # nmol/L = ng/mL × 2.496 (§8.4 [81]); molar ↔ mass, so table only.
        "vitamin_d": {"ng/mL": 1.0, "nmol/L": 1.0 / 2.496},
        "procalcitonin": {"ng/mL": 1.0, "ug/L": 1.0},  # identity (§8.4)
        "weight": {"kg": 1.0, "g": 1e-3, "[lb_av]": 0.45359237},
        "height": {"cm": 1.0, "m": 100.0, "[in_i]": 2.54},
        "length": {"mm": 1.0, "cm": 10.0, "m": 1000.0},
    }
)

# Conversions that pint cannot (or must not) derive; documented above.
_TABLE_ONLY: frozenset[tuple[str, str]] = frozenset(
    {("hba1c", "mmol/mol"), ("vitamin_d", "nmol/L")}
)
# Analytes for which units outside the table are refused outright.
_NO_PINT_FALLBACK: frozenset[str] = frozenset({"hba1c"})

# ---------------------------------------------------------------------------------------------
# Aliases and normalisation
# ---------------------------------------------------------------------------------------------

_WHOLE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "mm/hr": "mm/h",
        "lb": "[lb_av]",
        "in": "[in_i]",
        "10*3/mm3": "10*3/uL",
    }
)
_ANNOTATION_RE = re.compile(r"\{[^{}]*\}")
_TIMES_TEN_RE = re.compile(r"^[x×]\s*(?=10[*^])")


def _normalise(unit: str) -> str:
    """Map a unit string and its documented aliases to the spelling the table uses.

    Aliases (everything else is strict, case-sensitive UCUM):

    * ``µ`` (micro sign) and ``μ`` (Greek mu) → ``u`` (``µL`` → ``uL``);
    * ``{...}`` annotations are dropped (``{cells}/uL`` → ``/uL``), as UCUM prescribes;
    * a leading ``cells`` → nothing (``cells/uL`` → ``/uL``);
    * ``x10^9/L`` / ``×10^9/L`` → ``10*9/L`` and ``10^3`` → ``10*3``;
    * whole strings: ``mm/hr`` → ``mm/h``, ``lb`` → ``[lb_av]``, ``in`` → ``[in_i]``,
      ``10*3/mm3`` → ``10*3/uL``.
    """
    text = unit.strip().replace("\u00b5", "u").replace("\u03bc", "u")
    text = _ANNOTATION_RE.sub("", text)
    if text.startswith("cells/"):
        text = text[len("cells") :]
    text = _TIMES_TEN_RE.sub("", text)
    text = text.replace("10^", "10*")
    return _WHOLE_ALIASES.get(text, text)


# ---------------------------------------------------------------------------------------------
# Strict UCUM parser (subset) → pint
# ---------------------------------------------------------------------------------------------

# UCUM atom → (pint unit name, metric i.e. may take a prefix).
_ATOMS: Mapping[str, tuple[str, bool]] = MappingProxyType(
    {
        "g": ("gram", True),
        "L": ("liter", True),
        "m": ("meter", True),
        "s": ("second", True),
        "mol": ("mole", True),
        "min": ("minute", False),
        "h": ("hour", False),
        "[hr]": ("hour", False),
        "d": ("day", False),
        "wk": ("week", False),
        "%": ("percent", False),
        "[lb_av]": ("pound", False),
        "[oz_av]": ("ounce", False),
        "[in_i]": ("inch", False),
        "[ft_i]": ("foot", False),
    }
)
_PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        "da": "deca",
        "T": "tera",
        "G": "giga",
        "M": "mega",
        "k": "kilo",
        "h": "hecto",
        "d": "deci",
        "c": "centi",
        "m": "milli",
        "u": "micro",
        "n": "nano",
        "p": "pico",
        "f": "femto",
        "a": "atto",
    }
)
_TOKEN_RE = re.compile(r"\(|\)|[./]|[^./()]+")
_TEN_POWER_RE = re.compile(r"^10\*([+-]?\d+)$")
_INTEGER_RE = re.compile(r"^\d+$")
_SIMPLE_RE = re.compile(r"^(\[[^\[\]]+\]|[A-Za-z%]+)([+-]?\d+)?$")

# A parsed unit: a numeric factor and a product of pint base names with integer exponents.
_Parsed = tuple[float, tuple[tuple[str, int], ...]]


class _UcumSyntaxError(ValueError):
    """The string is not UCUM this module understands."""


def _simple_unit(token: str) -> _Parsed:
    m = _TEN_POWER_RE.match(token)
    if m:
        return 10.0 ** int(m.group(1)), ()
    if _INTEGER_RE.match(token):
        return float(int(token)), ()
    m = _SIMPLE_RE.match(token)
    if not m:
        raise _UcumSyntaxError(token)
    symbol, exponent_text = m.group(1), m.group(2)
    exponent = int(exponent_text) if exponent_text else 1
    if symbol in _ATOMS:
        return 1.0, ((_ATOMS[symbol][0], exponent),)
    for prefix, prefix_name in _PREFIXES.items():
        if symbol.startswith(prefix):
            atom = _ATOMS.get(symbol[len(prefix) :])
            if atom is not None and atom[1]:
                return 1.0, ((prefix_name + atom[0], exponent),)
    raise _UcumSyntaxError(token)


def _multiply(left: _Parsed, right: _Parsed, sign: int) -> _Parsed:
    factor = left[0] * right[0] ** sign
    terms = left[1] + tuple((name, exp * sign) for name, exp in right[1])
    return factor, terms


def _parse_ucum(text: str) -> _Parsed:
    """Parse a (subset of) UCUM term: components joined by ``.`` and ``/``, left to right."""
    tokens = _TOKEN_RE.findall(text)
    if not text or "".join(tokens) != text:
        raise _UcumSyntaxError(text)
    position = 0

    def term() -> _Parsed:
        nonlocal position
        result: _Parsed = (1.0, ())
        if position < len(tokens) and tokens[position] == "/":  # leading "/": reciprocal
            position += 1
            result = _multiply(result, component(), -1)
        else:
            result = component()
        while position < len(tokens) and tokens[position] in "./":
            sign = 1 if tokens[position] == "." else -1
            position += 1
            result = _multiply(result, component(), sign)
        return result

    def component() -> _Parsed:
        nonlocal position
        if position >= len(tokens):
            raise _UcumSyntaxError(text)
        token = tokens[position]
        position += 1
        if token == "(":
            inner = term()
            if position >= len(tokens) or tokens[position] != ")":
                raise _UcumSyntaxError(text)
            position += 1
            return inner
        if token in "./)":
            raise _UcumSyntaxError(text)
        return _simple_unit(token)

    parsed = term()
    if position != len(tokens):
        raise _UcumSyntaxError(text)
    return parsed


class _DimensionMismatch(ValueError):
    """The unit parses but has a different dimension from the canonical unit."""

    def __init__(self, got: str, expected: str) -> None:
        super().__init__(got, expected)
        self.got = got
        self.expected = expected


@functools.cache
def _registry() -> Any:  # pint.UnitRegistry; typed loosely across pint versions
    import pint  # deliberately lazy: keeps CLI start-up fast

    return pint.UnitRegistry()


def _to_pint(parsed: _Parsed) -> Any:
    registry = _registry()
    quantity = registry.Quantity(parsed[0])
    for name, exponent in parsed[1]:
        quantity = quantity * registry.Quantity(1.0, name) ** exponent
    return quantity


@functools.lru_cache(maxsize=512)
def _pint_factor(unit: str, canonical: str) -> float:
    """Factor ``f`` with ``value [canonical] = value [unit] × f``, computed by pint.

    Raises ``_UcumSyntaxError`` if either string is not UCUM we understand and
    :class:`_DimensionMismatch` if the dimensions differ.
    """
    source = _to_pint(_parse_ucum(unit))
    target = _to_pint(_parse_ucum(canonical))
    if source.dimensionality != target.dimensionality:
        raise _DimensionMismatch(str(source.dimensionality), str(target.dimensionality))
    return float((source / target).to("dimensionless").magnitude)


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def _spec(analyte: str, unit: str | None = None) -> AnalyteSpec:
    spec = ANALYTES.get(analyte)
    if spec is None:
        about = f"cannot convert unit {unit!r}: " if unit is not None else ""
        raise UnitError(
            f"{about}unknown analyte {analyte!r} (expected one of: {', '.join(ANALYTES)})"
        )
    return spec


def _unknown_unit(analyte: str, unit: str) -> UnitError:
    return UnitError(
        f"unit {unit!r} is not known for {analyte} (expected one of: {', '.join(_TABLE[analyte])})"
    )


_conversions: dict[tuple[str, str], float | _Affine] = {}


def _conversion(analyte: str, unit: str) -> float | _Affine:
    """Resolve ``unit`` for ``analyte`` to a table entry or a pint-derived factor.

    Resolved conversions are remembered per (analyte, unit string): imports and case validation
    convert the same few units over and over. Failures are not remembered, so every refusal
    raises afresh with the same message."""
    if type(analyte) is str and type(unit) is str:
        key = (analyte, unit)
        found = _conversions.get(key)
        if found is None:
            found = remember(_conversions, key, _resolve_conversion(analyte, unit), 1024)
        return found
    return _resolve_conversion(analyte, unit)


def _resolve_conversion(analyte: str, unit: str) -> float | _Affine:
    """:func:`_conversion` without the memo."""
    spec = _spec(analyte, unit)
    table = _TABLE[analyte]
    if not isinstance(unit, str) or not unit.strip():
        raise _unknown_unit(analyte, str(unit))
    normalised = _normalise(unit)
    entry = table.get(normalised)
    if entry is not None:
        return entry
    if analyte in _NO_PINT_FALLBACK:
        raise _unknown_unit(analyte, unit)
    try:
        return _pint_factor(normalised, spec.canonical_unit)
    except _UcumSyntaxError:
        raise _unknown_unit(analyte, unit) from None
    except _DimensionMismatch as exc:
        hint = ""
        if "substance" in exc.got or "substance" in exc.expected:
            hint = " (molar and mass units need a molar mass; only the listed units convert)"
        raise UnitError(
            f"unit {unit!r} is not compatible with {analyte} "
            f"(canonical unit {spec.canonical_unit}): dimension {exc.got} "
            f"is not {exc.expected}{hint}"
        ) from None


def to_canonical(analyte: str, value: float, unit: str) -> float:
    """Convert ``value`` expressed in ``unit`` to the canonical unit of ``analyte``.

    >>> to_canonical("crp", 1.5, "mg/dL")
    15.0

    Raises :class:`~revspine.errors.UnitError` (naming the analyte and the unit) for an unknown
    analyte, an unknown or empty unit, or a unit of the wrong dimension. HbA1c in ``mmol/mol`` uses
    NGSP = 0.0915 × IFCC + 2.15 (REFERENCE.md §8.4 [82]).
    """
    conversion = _conversion(analyte, unit)
    if isinstance(conversion, _Affine):
        result = conversion.to_canonical(value)
    else:
        result = value * conversion
    # Rounding to 12 significant digits removes floating-point noise, so that a value entered in another
    # unit lands on the same side of a threshold as the same value entered canonically.
    return float(f"{result:.12g}")


def check_unit(analyte: str, unit: str) -> None:
    """Raise what :func:`to_canonical` raises for ``unit`` (the same :class:`UnitError`);
    return quietly when a value in ``unit`` converts. For importers that only check a unit."""
    _conversion(analyte, unit)


def from_canonical(analyte: str, value: float, unit: str) -> float:
    """Convert ``value`` in the canonical unit of ``analyte`` to ``unit`` (inverse of
    :func:`to_canonical`, same errors).

    HbA1c to ``mmol/mol`` uses IFCC = (NGSP − 2.15) / 0.0915, the exact inverse of the master
    equation used by :func:`to_canonical` (REFERENCE.md §8.4 [82]); round trips are exact up to
    floating-point rounding.
    """
    conversion = _conversion(analyte, unit)
    if isinstance(conversion, _Affine):
        return conversion.from_canonical(value)
    return value / conversion


def canonical_unit(analyte: str) -> str:
    """The UCUM unit the rules use for ``analyte`` (raises UnitError if the analyte is unknown)."""
    return _spec(analyte).canonical_unit


def known_units(analyte: str) -> tuple[str, ...]:
    """The conversion table's units for ``analyte``, canonical unit first.

    Other dimensionally compatible UCUM units are still accepted through pint (except for HbA1c).
    """
    _spec(analyte)
    return tuple(_TABLE[analyte])


def format_quantity(value: float, unit: str) -> str:
    """Format a value and unit for display, e.g. ``format_quantity(3.2000000000000006, "g/dL")``
    → ``"3.2 g/dL"``.

    The value is rounded to at most 4 significant digits (which also removes float noise) and
    written without an exponent; trailing zeros are trimmed.
    """
    if not math.isfinite(value):
        text = str(value)
    elif value == 0:
        text = "0"
    else:
        rounded = float(f"{value:.4g}")
        text = format(Decimal(repr(rounded)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    return f"{text} {unit}" if unit else text

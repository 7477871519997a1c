"""The benchmark's case generator, now in the package as :mod:`revspine.batch.casegen` (``revspine
synth`` builds its FHIR cohorts from it); re-exported here for ``bench/run.py`` and ``bench/fhir.py``.
"""

from __future__ import annotations

from revspine.batch.casegen import (  # noqa: F401
    AS_OF,
    COMMON_FINDINGS,
    FINDINGS,
    LAB_RANGES,
    LAB_TESTS,
    MODALITIES,
    RARE_SYMPTOMS,
    ROOTS,
    SEGMENTS,
    SIDES,
    SURGERY_TYPES,
    URGENT_FINDINGS,
    CaseGenerator,
    generate,
)

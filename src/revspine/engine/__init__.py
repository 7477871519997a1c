"""Pure evaluation: (knowledge, case, as_of) → assessment with provenance."""

from revspine.domain.assessment import Assessment
from revspine.engine.run import assess

__all__ = ["Assessment", "assess"]

"""Human-readable renderings of an assessment (the printable HTML report)."""

"""Adapters between revspine's domain and outside formats (FHIR R4, CDS Hooks)."""

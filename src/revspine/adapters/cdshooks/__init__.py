"""CDS Hooks 2.0 adapter (placeholder docstring)."""

"""Domain model: the case, units and instrument scores."""

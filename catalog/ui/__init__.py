"""Staff web pages of our own (dashboard, search, detail pages, lineage explorer, findings triage)."""

"""Benchmarks: scripts that print figures (``bench/run_all.py`` runs them all); not tests."""

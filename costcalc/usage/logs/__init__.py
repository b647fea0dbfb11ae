"""Measured usage: pull counts and bytes served, read from a registry's own logs (pure, streaming)."""

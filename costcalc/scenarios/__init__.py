"""Savings scenarios: the spec grammar, scenario files, and their projections."""

"""Benchmarks of costcalc against the physical limit (latency x requests) and against today's tools."""

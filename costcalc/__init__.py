"""costcalc: what a container registry costs to store and serve, and what optimization saves."""

__version__ = "0.1.0"

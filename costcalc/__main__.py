"""`python -m costcalc`: the same entry point as the console script."""

from costcalc.cli import main

main()

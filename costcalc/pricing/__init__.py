"""Price books, their files, tier math, and quotes."""

"""Building a report: usage -> quantities -> prices -> comparison -> scenarios."""

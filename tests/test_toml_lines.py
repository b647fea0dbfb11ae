"""The TOML line finder and tomllib's error locations, on small texts built in the tests."""

from __future__ import annotations

import tomllib

import pytest

from costcalc.toml_lines import KeyPath, SyntaxProblem, key_lines, syntax_problem

BOOK = """\
# a comment
id = "x"
"quoted key" = 1
'literal.key' = 2
a.b.c = 3

[storage]
tiers = [
  { up_to = 10, price = 0.1 },
  { price = 0.05 },
]

[[scenarios]]
spec = "alpine"

[[scenarios]]
spec = \"\"\"
retention:5\"\"\"
keep = ["v1"]

[egress.internet]
notes = "[[scenarios]] in a string is not a table"
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("id",), 2),
        (("quoted key",), 3),
        (("literal.key",), 4),
        (("a",), 5),  # a dotted key opens its tables on its own line
        (("a", "b", "c"), 5),
        (("storage",), 7),
        (("storage", "tiers"), 8),
        (("storage", "tiers", 0), 9),  # inline tables inside an array
        (("storage", "tiers", 0, "price"), 9),
        (("storage", "tiers", 1, "price"), 10),
        (("scenarios", 0), 13),  # [[arrays]] are indexed like tomllib's lists
        (("scenarios", 0, "spec"), 14),
        (("scenarios", 1), 16),
        (("scenarios", 1, "keep"), 19),  # after a multi-line string
        (("scenarios", 1, "keep", 0), 19),
        (("egress", "internet"), 21),
        (("egress", "internet", "notes"), 22),
    ],
)
def test_key_lines(path: KeyPath, line: int) -> None:
    tomllib.loads(BOOK)  # the finder follows valid TOML only
    assert key_lines(BOOK)[path] == line


def test_key_lines_has_no_phantom_entries() -> None:
    lines = key_lines(BOOK)
    assert ("scenarios", 2) not in lines  # the one inside a string
    assert key_lines("") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a = 1\na = 2\n",
            SyntaxProblem(
                message="Cannot overwrite a value (at line 2, column 6)",
                reason="Cannot overwrite a value",
                line=2,
                column=6,
            ),
        ),
        (
            "a = ",
            SyntaxProblem(message="Invalid value (at end of document)", reason="Invalid value", line=1, column=None),
        ),
        (
            "[t]\nb = 1\nc = [1,\n",
            SyntaxProblem(message="Invalid value (at end of document)", reason="Invalid value", line=3, column=None),
        ),
    ],
)
def test_syntax_problem(text: str, expected: SyntaxProblem) -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        tomllib.loads(text)
    assert syntax_problem(caught.value, text) == expected

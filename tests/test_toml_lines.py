"""The TOML line finder and tomllib's error locations, on small texts built in the tests."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from costcalc.toml_lines import KeyPath, SyntaxProblem, key_lines, loads, syntax_problem

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


@pytest.mark.parametrize(
    ("text", "reason", "line", "column"),
    [
        ("a = 1\nb = " + "[" * 33 + "]" * 33, "Arrays and tables nested deeper than 32 levels", 2, 37),
        ("a = " + "{ b = " * 33 + "1" + " }" * 33, "Arrays and tables nested deeper than 32 levels", 1, 5 + 32 * 6),
        ("\n\nn = " + "7" * 4301, "An integer with more than 4300 digits", 3, 5),
    ],
)
def test_loads_refuses_what_tomllib_cannot_survive_with_a_location(
    text: str, reason: str, line: int, column: int
) -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        loads(text)
    assert syntax_problem(caught.value, text) == SyntaxProblem(
        message=f"{reason} (at line {line}, column {column})", reason=reason, line=line, column=column
    )


def test_loads_reads_floats_as_decimals_and_ignores_brackets_in_strings() -> None:
    deep = "[" * 40
    text = (
        f"a = 0.1\nb = \"{deep}\"\nc = '{deep}'\nd = \"\"\"\n{deep}\"\"\"\ne = '''{deep}'''\n# {deep}\n"
        f'f = "\\"{deep}"\ng = """x""""\nh = ' + "[" * 32 + "]" * 32 + "\n"
    )
    data = loads(text)
    assert data["a"] == Decimal("0.1") and type(data["a"]) is Decimal
    assert data["b"] == data["c"] == data["e"] == deep
    assert data["f"] == '"' + deep
    assert data["g"] == 'x"'

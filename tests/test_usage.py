"""Usage files: CSV and TOML parsing, every problem located, glob specificity."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costcalc.errors import InputError
from costcalc.pricing.book import per_month
from costcalc.pricing.book_file import load_book
from costcalc.usage.file import (
    check_sources,
    load_usage,
    loads_csv,
    loads_toml,
    template,
)

HEADER = "repository,team,source,pulls_per_month,pulls_per_day,deploys_per_month,nodes,tag,platform\n"


def problems_of(text: str, name: str = "u.csv") -> list[str]:
    with pytest.raises(InputError) as caught:
        (loads_toml if name.endswith(".toml") else loads_csv)(text, name)
    return caught.value.problems


def test_csv_rows_and_per_day_conversion() -> None:
    usage = loads_csv(
        HEADER + "acme/api,api,internet,,24,30,10,v1,linux/arm64\n" + "*,,,100,,,,,\n",
        "u.csv",
    )
    api, default = usage.rows
    assert api.line == 2 and default.line == 3
    assert api.pulls_per_month == Decimal(730)  # 24 a day x 730/24
    assert (api.deploys_per_month, api.nodes) == (Decimal(30), Decimal(10))
    assert (api.team, api.source, api.tag, api.platform) == ("api", "internet", "v1", "linux/arm64")
    assert default.pulls_per_month == 100 and default.team is None


def test_columns_may_be_a_subset_in_any_order_and_bom_and_blank_lines_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes("\ufeffpulls_per_day,repository\r\n\r\n3,acme/*\r\n".encode())
    usage = load_usage(path)
    assert usage.rows[0].pattern == "acme/*"
    assert usage.rows[0].line == 3
    assert usage.rows[0].pulls_per_month == Decimal(3) * 730 / 24


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEADER + "acme/api,,,-5,,,,,\n", ["u.csv:2: pulls_per_month: must be a number >= 0, got '-5'"]),
        (HEADER + "acme/api,,,lots,,,,,\n", ["u.csv:2: pulls_per_month: must be a number >= 0, got 'lots'"]),
        (HEADER + "acme/api,,,1,000,,,,,\n", ["u.csv:2: row: 10 cells but the header has 9"]),
        (HEADER + "acme/api,,,NaN,,,,,\n", ["u.csv:2: pulls_per_month: must be a number >= 0, got 'NaN'"]),
        (HEADER + "acme/api,,,inf,,,,,\n", ["u.csv:2: pulls_per_month: must be a number >= 0, got 'inf'"]),
        (HEADER + "acme/api,,,10,2,,,,\n", ["u.csv:2: pulls_per_day: give pulls_per_month or pulls_per_day, not both"]),
        (
            HEADER + "acme/api,,,10,,,4,,\n",
            ["u.csv:2: nodes: nodes without deploys_per_month (each deploy is pulled by each node)"],
        ),
        (
            HEADER + "acme/api,,,,,4,,,\n",
            ["u.csv:2: deploys_per_month: deploys_per_month without nodes (how many nodes pull each deploy)"],
        ),
        (
            HEADER + ",,,10,,,,,\n",
            ["u.csv:2: repository: required (a repository name or glob, `*` for the default row)"],
        ),
        (HEADER + "acme/[api,,,10,,,,,\n", ["u.csv:2: repository: 'acme/[api' is not a valid glob (unclosed '[')"]),
        (
            HEADER + "acme//api,,,10,,,,,\n",
            ["u.csv:2: repository: 'acme//api' is not a valid glob (empty path component)"],
        ),
        (
            HEADER + "acme/api x,,,10,,,,,\n",
            ["u.csv:2: repository: 'acme/api x' is not a valid glob (whitespace or control character)"],
        ),
        (
            HEADER + "acme/*,,,10,,,,,\nacme/*,,,20,,,,,\n",
            ["u.csv:3: repository: duplicate pattern 'acme/*' (first on line 2)"],
        ),
        (HEADER + "acme/api,,,10,,,,bad tag!,\n", ["u.csv:2: tag: 'bad tag!' is not a valid tag"]),
        (HEADER + "acme/api,,,10,,,,,amd64\n", ["u.csv:2: platform: 'amd64' is not os/architecture[/variant]"]),
        (
            "",
            [
                "u.csv:1: file: empty usage file (expected a header row: "
                "repository,team,source,pulls_per_month,pulls_per_day,deploys_per_month,nodes,tag,platform)."
            ],
        ),
        (HEADER, ["u.csv:1: file: no rows after the header (add one row per repository glob, or `*`)"]),
        (
            "repository,pulls,owner\nacme/api,1,x\n",
            [
                "u.csv:1: pulls: unknown column (known: repository, team, source, pulls_per_month, "
                "pulls_per_day, deploys_per_month, nodes, tag, platform, measured_bytes_per_month)",
                "u.csv:1: owner: unknown column (known: repository, team, source, pulls_per_month, "
                "pulls_per_day, deploys_per_month, nodes, tag, platform, measured_bytes_per_month)",
            ],
        ),
        ("team,pulls_per_month\nweb,3\n", ["u.csv:1: repository: missing column"]),
        ("repository,repository\nx,y\n", ["u.csv:1: repository: column given twice"]),
    ],
)
def test_bad_csv_reports_file_line_field_problem(text: str, expected: list[str]) -> None:
    assert problems_of(text) == expected


def test_every_problem_is_reported_at_once() -> None:
    text = HEADER + "acme/a,,,-1,,,,,\nacme/b,,,x,,,,,\nacme/c,,,1,1,,,,\n"
    assert [p.split(":")[1] for p in problems_of(text)] == ["2", "3", "4"]


def test_toml_rows_and_located_problems() -> None:
    usage = loads_toml(
        '[[usage]]\nrepository = "acme/*"\npulls_per_day = 2.5\nsource = "internet"\n\n'
        '[[usage]]\nrepository = "*"\nteam = "ops"\n',
        "u.toml",
    )
    assert [(r.pattern, r.line) for r in usage.rows] == [("acme/*", 1), ("*", 6)]
    assert usage.rows[0].pulls_per_month == per_month(Decimal("2.5"))

    text = (
        '[[usage]]\nrepository = "acme/*"\npulls_per_month = -3\ncolour = "red"\n\n'
        '[[usage]]\nrepository = "acme/api"\npulls_per_month = "10"\nnodes = 3\n'
    )
    assert problems_of(text, "u.toml") == [  # in line order
        "u.toml:3: pulls_per_month: must be a number >= 0, got '-3'",
        "u.toml:4: colour: unknown field (expected one of: repository, team, source, pulls_per_month, "
        "pulls_per_day, deploys_per_month, nodes, tag, platform, measured_bytes_per_month)",
        "u.toml:8: pulls_per_month: must be a number >= 0, not a string",
        "u.toml:9: nodes: nodes without deploys_per_month (each deploy is pulled by each node)",
    ]


def test_malformed_toml_points_at_its_line() -> None:
    assert problems_of('[[usage]]\nrepository = "a"\npulls_per_month = = 3\n', "u.toml") == [
        "u.toml:3: file: not valid TOML (Invalid value)"
    ]


def test_empty_toml() -> None:
    assert problems_of("# nothing\n", "u.toml") == [
        "u.toml:1: file: no [[usage]] tables (add one per repository glob, or `*`)"
    ]


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such usage file"):
        load_usage(tmp_path / "nope.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00x")
    with pytest.raises(InputError, match=r"bin.csv:1: file: not UTF-8 text"):
        load_usage(tmp_path / "bin.csv")


@pytest.mark.parametrize(
    ("repository", "winner"),
    [
        ("acme/api", "acme/api"),  # an exact name beats every glob
        ("acme/api-v2", "acme/api*"),  # more literal characters
        ("acme/web", "acme/*"),
        ("other/x", "*"),  # the default row
        ("acme/payments/ledger", "acme/payments/*"),
        ("acme/payments/ledger-eu", "acme/payments/ledger?eu"),  # 22 literals beat 16
    ],
)
def test_most_specific_pattern_wins(repository: str, winner: str) -> None:
    usage = loads_csv(
        "repository,pulls_per_month\n*,1\nacme/*,2\nacme/api*,3\nacme/api,4\n"
        "acme/payments/*,5\nacme/payments/ledger?eu,6\n",
        "u.csv",
    )
    match = usage.match(repository)
    assert match is not None and match.pattern == winner


def test_no_default_row_means_no_match_and_unmatched_globs_are_listed() -> None:
    usage = loads_csv("repository,pulls_per_month\nacme/*,2\nold/*,1\n*,0\n", "u.csv")
    assert [r.pattern for r in usage.unmatched(["acme/a"])] == ["old/*"]
    assert loads_csv("repository,pulls_per_month\nacme/*,2\n").match("x/y") is None


def test_sources_are_checked_against_the_book() -> None:
    usage = loads_csv("repository,source,pulls_per_month\na,internet,1\nb,moon,1\nc,same-region,1\nd,mars,1\n", "u.csv")
    book = load_book("aws-ecr")
    with pytest.raises(InputError) as caught:
        check_sources(usage, book)
    known = ", ".join(book.egress_classes)
    assert caught.value.problems == [
        f"u.csv:3: source: unknown egress class 'moon' for price book aws-ecr (known: {known})",
        f"u.csv:5: source: unknown egress class 'mars' for price book aws-ecr (known: {known})",
    ]


def test_template_lists_every_repository_then_a_default_row() -> None:
    from tests.test_costs import fleet_inventory

    text = template(fleet_inventory())
    lines = text.splitlines()
    assert lines[0] == HEADER.strip()
    assert lines[1:] == ["acme/api,,,,,,,,", "acme/job,,,,,,,,", "acme/web,,,,,,,,", "*,,,,,,,,"]
    # the template is a valid usage file as it is: blank numbers mean "no pull data yet"
    assert all(not row.has_pull_data for row in loads_csv(text).rows)


def test_a_character_class_is_not_counted_as_literal_characters() -> None:
    # `[a-z]` stands for one character: `acme/api/g*` (10 literal characters) is more specific
    # than `acme/api/[a-z]*` (9 literal characters and a class), whatever the file order
    u = loads_csv("repository,pulls_per_month\nacme/api/[a-z]*,1\nacme/api/g*,2\n")
    assert u.match("acme/api/gateway").pattern == "acme/api/g*"  # type: ignore[union-attr]
    assert u.match("acme/api/orders").pattern == "acme/api/[a-z]*"  # type: ignore[union-attr]
    # a class still beats `?`: `acme/ap[i]` vs `acme/ap?` (7 literal characters each)
    u = loads_csv("repository,pulls_per_month\nacme/ap?,1\nacme/ap[i],2\n")
    assert u.match("acme/api").pattern == "acme/ap[i]"  # type: ignore[union-attr]


def test_the_star_row_fills_what_the_winning_row_leaves_blank() -> None:
    u = loads_csv(
        "repository,team,source,pulls_per_month,pulls_per_day,deploys_per_month,nodes,tag,platform\n"
        "*,platform,same-region,,24,10,2,stable,linux/arm64\n"
        "acme/api,api,,,,,,,\n"  # a `usage init` row with only the team filled in
        "acme/web,,internet,100,,5,3,,\n"
        "acme/job,,,0,,,,,\n"
    )
    api, web, job = (u.match(name) for name in ("acme/api", "acme/web", "acme/job"))
    assert api is not None and web is not None and job is not None
    # api: its own team; the rest from `*`: 24 a day x 730/24 = 730 cold pulls, 10 x 2 warm
    assert (api.team, api.source, api.tag, api.platform) == ("api", "same-region", "stable", "linux/arm64")
    assert (api.pulls_per_month, api.deploys_per_month, api.nodes) == (Decimal(730), Decimal(10), Decimal(2))
    assert api.line == 3  # problems still point at the row that matched
    # web's own pulls and deploys are kept whole, never mixed with the default's
    assert (web.team, web.source, web.pulls_per_month, web.pulls_per_day) == ("platform", "internet", 100, None)
    assert (web.deploys_per_month, web.nodes) == (Decimal(5), Decimal(3))
    # an explicit 0 is a value, not a blank
    assert job.pulls_per_month == 0
    assert u.match("other") == u.rows[0]


def test_a_repository_pulled_from_several_places_has_a_row_per_source_class() -> None:
    usage = loads_csv(
        "repository,team,source,pulls_per_month,tag\n"
        "acme/api,red,internet,10,v1\n"
        "acme/api,red,same-region,200,v1\n"
        "*,,same-region,1,\n",
        "u.csv",
    )
    rows = usage.matches("acme/api")
    assert [(row.source, row.pulls_per_month, row.line) for row in rows] == [
        ("internet", Decimal(10), 2),
        ("same-region", Decimal(200), 3),
    ]
    assert usage.matches("acme/web") == (usage.match("acme/web"),)  # one row: the `*` row
    assert usage.matches("other") != ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "repository,source,pulls_per_month\nacme/api,internet,1\nacme/api,internet,2\n",
            "u.csv:3: repository: duplicate pattern 'acme/api' with source 'internet' (first on line 2)",
        ),
        (
            "repository,source,pulls_per_month,tag\nacme/api,internet,1,v1\nacme/api,same-region,2,v2\n",
            "u.csv:3: tag: rows of pattern 'acme/api' differ only by source; tag must be as on line 2",
        ),
        (
            "repository,source,pulls_per_month\nacme/api,internet,1\nacme/api,,2\n",
            "u.csv:3: source: a repeated pattern needs a source on every row",
        ),
    ],
)
def test_rows_of_one_pattern_must_differ_by_source_and_only_by_it(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        loads_csv(text, "u.csv")
    assert problem in caught.value.problems

"""The bundled price books: each is valid and prices a case worked by hand from published rates."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costcalc.pricing import PriceBook, bundled_book_ids, load_book, validate_book_file

D = Decimal
PRICING_DIR = Path(__file__).resolve().parent.parent / "pricing"
REQUIRED = {
    "aws-ecr",
    "aws-ecr-public",
    "gcp-artifact-registry",
    "azure-acr-basic",
    "azure-acr-standard",
    "azure-acr-premium",
    "github-packages",
    "s3-self-hosted",
    "cloudflare-r2",
}
# One name per meaning across books (SPEC section 4 `source` values).
CLASS_NAMES = {
    "internet",
    "same-region",
    "cross-region",
    "cross-continent",
    "internet-authenticated",
    "github-actions",
}


def close_to(value: Decimal, expected: str) -> bool:
    """Equal up to the 50-digit rounding of a day price converted to a 730-hour month."""
    return abs(value - D(expected)) < D("1E-30")


def test_the_bundled_books_are_the_files_in_pricing() -> None:
    assert set(bundled_book_ids()) == {path.stem for path in PRICING_DIR.glob("*.toml")}
    assert set(bundled_book_ids()) >= REQUIRED


@pytest.mark.parametrize("book_id", sorted(REQUIRED))
def test_each_bundled_book_is_valid_and_documented(book_id: str) -> None:
    assert validate_book_file(PRICING_DIR / f"{book_id}.toml") == []
    book = load_book(book_id)
    assert book.id == book_id
    assert book.effective_date == datetime.date(2026, 11, 1)
    assert book.sources and all(source.startswith("https://") for source in book.sources)
    assert book.notes, "every bundled book says what is assumed or uncertain"
    assert "internet" in book.egress_classes
    assert set(book.egress_classes) <= CLASS_NAMES
    assert book.currency == "USD"


def quote(book: PriceBook, storage: str, egress: dict[str, str]) -> tuple[Decimal, dict[str, Decimal]]:
    return book.storage_cost(D(storage)), {name: book.egress_cost(name, D(volume)) for name, volume in egress.items()}


def test_aws_ecr() -> None:
    book = load_book("aws-ecr")
    assert (book.unit, book.dedup_scope) == ("GiB", "repository")
    storage, egress = quote(book, "500", {"internet": "20000", "same-region": "5000", "cross-region": "300"})
    assert storage == D("50.00")  # 500 GiB x $0.10
    # 20,000 GiB out: 100 free, 10,240 x 0.09 = 921.60, 9,660 x 0.085 = 821.10
    assert egress["internet"] == D("1742.70")
    assert egress["same-region"] == 0  # ECR to EC2 in one region is free
    assert egress["cross-region"] == D("6.00")  # 300 x $0.02 inter-Region
    # Infracost's golden: 157,000 GB beyond the free tier = 921.60 + 3,481.60 + 7,168.00 + 170.00
    assert book.egress_cost("internet", D(157100)) == D("11741.20")


def test_aws_ecr_public() -> None:
    book = load_book("aws-ecr-public")
    storage, egress = quote(
        book,
        "80",
        {
            "internet": "600",
            "internet-authenticated": "6000",
            "same-region": "9999",
            "cross-region": "9999",
        },
    )
    assert storage == D("3.00")  # (80 - 50 free) x $0.10
    assert egress["internet"] == D("9.00")  # (600 - 500 free anonymous) x $0.09
    assert egress["internet-authenticated"] == D("79.20")  # (6000 - 5120 free) x $0.09
    assert egress["same-region"] == egress["cross-region"] == 0  # to AWS compute: free
    assert book.storage_cost(D(50)) == 0


def test_gcp_artifact_registry() -> None:
    book = load_book("gcp-artifact-registry")
    storage, egress = quote(
        book,
        "10.5",
        {"internet": "2048", "same-region": "100", "cross-region": "100", "cross-continent": "200"},
    )
    assert storage == D("1.00")  # (10.5 - 0.5 free) x $0.10
    assert egress["internet"] == D("235.52")  # 1024 x 0.12 = 122.88 + 1024 x 0.11 = 112.64
    assert egress["same-region"] == 0
    assert egress["cross-region"] == D("1.00")  # Infracost: "North America to North America 100 GB $1.00"
    assert egress["cross-continent"] == D("16.00")  # Infracost: "200 GB $16.00"


def test_azure_acr_basic() -> None:
    book = load_book("azure-acr-basic")
    assert (book.unit, book.dedup_scope) == ("GiB", "registry")
    # Microsoft Learn's example: 25 GiB on Basic = 10 included + 15 extra at $0.003/day.
    # Per day: 0.167 + 15 x 0.003 = 0.212; per 730-hour month: 0.212 x 730 / 24 = 6.448333...
    assert close_to(book.storage_cost(D(25)), "6.4483333333333333333333333333333333333333")
    assert close_to(book.storage_cost(D(10)), "5.0795833333333333333333333333333333333333")  # fee only
    # Internet: 100 free, then 10,240 x 0.087 = 890.88, then 9,660 x 0.083 = 801.78
    assert book.egress_cost("internet", D(20000)) == D("1692.66")
    assert book.egress_cost("same-region", D(5000)) == 0


def test_azure_acr_standard() -> None:
    book = load_book("azure-acr-standard")
    assert book.plan is not None and book.plan.included_storage == 100
    # 150 GiB: 0.667/day + 50 x 0.003/day = 0.817/day; x 730/24 = 596.41 / 24 = 24.850416...
    assert close_to(book.storage_cost(D(150)), "24.850416666666666666666666666666666666667")
    assert book.egress_cost("internet", D(20000)) == D("1692.66")  # inherited from Basic


def test_azure_acr_premium() -> None:
    book = load_book("azure-acr-premium")
    assert book.plan is not None and book.plan.included_storage == 500
    # 500 GiB, all included: 1.667/day x 730 / 24 = 1216.91 / 24 = 50.704583...
    # (Infracost: "Registry usage (Premium) 30 days $50.00", i.e. 1.6667 x 30).
    assert close_to(book.storage_cost(D(500)), "50.704583333333333333333333333333333333333")
    # 600 GiB: + 100 x 0.003 x 730 / 24 = 9.125
    assert close_to(book.storage_cost(D(600)), "59.829583333333333333333333333333333333333")


def test_github_packages() -> None:
    book = load_book("github-packages")
    assert book.unit == "GB"
    storage, egress = quote(book, "12", {"internet": "30", "github-actions": "500"})
    # (12 - 2 included) GB x $0.008/day x 730/24 = 10 x 0.2433... = 2.4333...
    assert close_to(storage, "2.4333333333333333333333333333333333333333")
    assert egress["internet"] == D("10.00")  # (30 - 10 included) x $0.50
    assert egress["github-actions"] == 0  # GITHUB_TOKEN downloads are free


def test_s3_self_hosted() -> None:
    book = load_book("s3-self-hosted")
    assert (book.extends, book.dedup_scope) == ("aws-ecr", "registry")
    # 100 TiB = 102,400 GiB: 51,200 x 0.023 = 1,177.60 + 51,200 x 0.022 = 1,126.40
    assert book.storage_cost(D(102400)) == D("2304.00")
    # 600 TiB = 614,400 GiB: 1,177.60 + 460,800 x 0.022 = 10,137.60 + 102,400 x 0.021 = 2,150.40
    assert book.storage_cost(D(614400)) == D("13465.60")
    assert book.egress_cost("internet", D(20000)) == D("1742.70")  # AWS data transfer, as aws-ecr


def test_cloudflare_r2() -> None:
    book = load_book("cloudflare-r2")
    storage, egress = quote(book, "1010", {"internet": "50000", "same-region": "1", "cross-region": "1"})
    assert storage == D("15.00")  # (1010 - 10 free) GB x $0.015
    assert egress == {"internet": 0, "same-region": 0, "cross-region": 0}  # zero egress fees

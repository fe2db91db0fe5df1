"""The bench's own arithmetic: DynamoDB item sizes, the request meter, percentiles, storage projection."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest
from botocore.stub import Stubber

from bench.collector import changed_items, project_storage, window_days
from bench.instrument import DynamoMeter, item_size, number_size, value_size
from bench.queries import percentile
from chalicelib.periods import day_start


def test_strings_and_names_count_their_utf8_bytes():
    assert item_size({"pk": "abc"}) == 2 + 3
    assert item_size({"é": "ü"}) == 2 + 2


def test_numbers_count_one_byte_per_two_significant_digits_plus_one():
    assert number_size(7) == 2
    assert number_size(123) == 3
    assert number_size(Decimal("1200.00")) == 2  # trailing zeros are not significant
    assert number_size(Decimal("0.0000012345")) == 4


def test_lists_and_maps_cost_three_bytes_plus_one_per_element():
    assert value_size(["a", "b"]) == 3 + (1 + 1) + (1 + 1)
    assert value_size({"x": Decimal(1)}) == 3 + (1 + 2 + 1)
    assert value_size([]) == 3


def test_a_wire_item_and_its_python_form_have_the_same_size():
    wire = {
        "pk": {"S": "AD#key"},
        "m": {"M": {"key_1": {"L": [{"N": "12"}, {"N": "0.5"}]}}},
        "x": {"NULL": True},
    }
    native = {"pk": "AD#key", "m": {"key_1": [Decimal(12), Decimal("0.5")]}, "x": None}

    assert item_size(wire) == item_size(native)


@pytest.fixture
def stubbed():
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    )
    meter = DynamoMeter()
    meter.attach(client)
    with Stubber(client) as stubber:
        yield client, stubber, meter


def test_the_meter_counts_items_bytes_and_units_of_a_query(stubbed):
    client, stubber, meter = stubbed
    items = [
        {"pk": {"S": "AD#key"}, "sk": {"S": "2026-11-20"}},
        {"pk": {"S": "AD#key"}, "sk": {"S": "2026-11-21"}},
    ]
    stubber.add_response(
        "query",
        {"Items": items, "Count": 2, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}},
        {
            "TableName": "t",
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "AD#key"}},
            "ReturnConsumedCapacity": "TOTAL",  # the meter asks for it
        },
    )

    client.query(
        TableName="t", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "AD#key"}}
    )

    counts = meter.snapshot()
    assert counts.requests == 1
    assert counts.items_read == 2
    assert counts.bytes_read == 2 * (len("pk") + len("AD#key") + len("sk") + len("2026-11-20"))
    assert counts.read_units == 0.5
    assert counts.read_units_floor == 0


def test_an_empty_consistent_read_is_billed_its_minimum(stubbed):
    client, stubber, meter = stubbed
    stubber.add_response("get_item", {}, None)

    client.get_item(TableName="t", Key={"pk": {"S": "META"}, "sk": {"S": "x"}}, ConsistentRead=True)

    assert meter.snapshot().billed_read_units == 1.0


def test_unprocessed_batch_writes_are_not_counted_as_written(stubbed):
    client, stubber, meter = stubbed
    puts = [{"PutRequest": {"Item": {"pk": {"S": "DD#2026-11"}, "sk": {"S": str(i)}}}} for i in range(3)]
    delete = {"DeleteRequest": {"Key": {"pk": {"S": "HD#2026-11-20"}, "sk": {"S": "00"}}}}
    stubber.add_response(
        "batch_write_item",
        {
            "UnprocessedItems": {"t": [puts[0]]},
            "ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 3.0}],
        },
        None,
    )

    client.batch_write_item(RequestItems={"t": [*puts, delete]})

    counts = meter.snapshot()
    assert counts.items_written == 3
    assert dict(counts.written_by_kind) == {"DD": 2, "HD": 1}
    assert counts.write_units == 3.0


def test_counts_since_a_snapshot_subtract(stubbed):
    client, stubber, meter = stubbed
    stubber.add_response("put_item", {"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}}, None)
    stubber.add_response("put_item", {"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 2.0}}, None)
    client.put_item(TableName="t", Item={"pk": {"S": "META"}, "sk": {"S": "lease"}})
    before = meter.snapshot()

    client.put_item(TableName="t", Item={"pk": {"S": "META"}, "sk": {"S": "checkpoint"}})

    delta = meter.snapshot().minus(before)
    assert (delta.requests, delta.items_written, delta.write_units) == (1, 1, 2.0)


def test_percentiles_interpolate_between_ranks():
    values = [float(v) for v in range(1, 21)]

    assert percentile(values, 0.5) == pytest.approx(10.5)
    assert percentile(values, 0.95) == pytest.approx(19.05)
    assert percentile([3.0], 0.95) == 3.0


def test_an_incremental_run_at_mid_morning_rereads_three_days():
    assert window_days(day_start("2026-11-20") + 10 * 3600) == ["2026-11-18", "2026-11-19", "2026-11-20"]


def test_changed_items_count_additions_removals_and_modifications_by_kind():
    before = {("HD#d", "1"): {"v": 1}, ("HD#d", "2"): {"v": 2}, ("META", "lease"): {"o": 1}}
    after = {("HD#d", "1"): {"v": 1}, ("HD#d", "2"): {"v": 3}, ("AD#key", "d"): {"m": 1}}

    assert changed_items(before, after) == {"AD": 1, "HD": 1, "META": 1}


def test_storage_grows_only_the_daily_kinds_to_a_year():
    storage = {
        "by_kind": {
            "DD": {"items": 91, "bytes": 9100},
            "HD": {"items": 10, "bytes": 1000},
            "DIR": {"items": 2, "bytes": 200},
        }
    }

    year = project_storage(storage, days_stored=91, days=365)

    assert year["items"] == 365 + 10 + 2
    assert year["bytes"] == 36500 + 1000 + 200
    assert year["billed_bytes"] == year["bytes"] + 100 * year["items"]


def test_a_snapshot_is_not_changed_by_later_requests(stubbed):
    client, stubber, meter = stubbed
    item = {"pk": {"S": "DIR"}, "sk": {"S": "key#1"}}
    stubber.add_response("query", {"Items": [item], "Count": 1}, None)
    stubber.add_response("query", {"Items": [item], "Count": 1}, None)
    client.query(
        TableName="t", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "DIR"}}
    )
    before = meter.snapshot()

    client.query(
        TableName="t", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "DIR"}}
    )

    assert dict(meter.snapshot().minus(before).read_bytes_by_kind) == {"DIR": item_size(item)}

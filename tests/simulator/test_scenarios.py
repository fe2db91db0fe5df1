"""The leaked-key scenarios (simulator.scenarios): off by default, deterministic, switchable, and
their ground truth (`org.scenarios`) says exactly which key does what when."""

from __future__ import annotations

from dataclasses import replace

import pytest

from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW, SIM_SPEC
from simulator.scenarios import SCENARIO_HOURS
from simulator.traffic import METRICS

DAY = 86400
HOUR = 3600
ALL = ("spike", "dormant", "new_model")


def keyed(org: SyntheticOrg, start: int, end: int, key_id: str) -> dict[str, dict]:
    return {kind: org.usage_truth(kind, start, end, ("model",), api_key_ids=[key_id]) for kind in METRICS}


def by_key(org: SyntheticOrg, start: int, end: int) -> dict:
    return {kind: org.usage_truth(kind, start, end, ("api_key_id", "model")) for kind in METRICS}


def test_scenarios_are_off_by_default_and_the_organization_is_as_before():
    plain, switched = SyntheticOrg(SIM_SPEC), SyntheticOrg(replace(SIM_SPEC, scenarios=()))
    assert plain.scenarios == ()
    assert by_key(plain, plain.origin, SIM_NOW) == by_key(switched, switched.origin, SIM_NOW)


def test_each_scenario_has_its_own_ordinary_key_and_starts_four_hours_before_the_clock():
    org = SyntheticOrg(replace(SIM_SPEC, scenarios=ALL))
    special = {org.directory.xss_key_id, org.directory.quiet_key_id, org.directory.new_key_id}
    assert [s.name for s in org.scenarios] == list(ALL)
    assert len({s.key_id for s in org.scenarios}) == 3
    assert not special & {s.key_id for s in org.scenarios}
    start = SIM_NOW - SIM_NOW % HOUR - 4 * HOUR
    assert {(s.start, s.end) for s in org.scenarios} == {(start, start + SCENARIO_HOURS * HOUR)}
    assert org.scenarios == SyntheticOrg(replace(SIM_SPEC, scenarios=ALL)).scenarios  # deterministic


def test_outside_the_scenarios_traffic_is_unchanged():
    plain, org = (
        SyntheticOrg(replace(SIM_SPEC, daily_spike=False)),
        SyntheticOrg(replace(SIM_SPEC, daily_spike=False, scenarios=ALL)),
    )
    dormant = next(s for s in org.scenarios if s.name == "dormant")
    # before the dormant key falls silent, and for every other key outside the scenario hours
    assert by_key(plain, plain.origin, dormant.quiet_from) == by_key(org, org.origin, dormant.quiet_from)
    spiked = {s.key_id for s in org.scenarios}
    after = dormant.end
    for kind, truth in by_key(org, after, SIM_NOW).items():
        assert truth == by_key(plain, after, SIM_NOW)[kind]
    for kind, truth in by_key(org, dormant.quiet_from, dormant.start).items():
        others = {k: v for k, v in truth.items() if k[0] not in spiked}
        plain_others = {
            k: v
            for k, v in by_key(plain, dormant.quiet_from, dormant.start)[kind].items()
            if k[0] not in spiked
        }
        assert others == plain_others


def test_the_spike_adds_traffic_of_the_keys_model_in_its_hours_only():
    plain = SyntheticOrg(replace(SIM_SPEC, daily_spike=False))
    org = SyntheticOrg(replace(SIM_SPEC, daily_spike=False, scenarios=("spike",)))
    [spike] = org.scenarios
    normal = keyed(plain, spike.start, spike.end, spike.key_id)["completions"]
    before = normal.get((spike.model,), {}).get("input_tokens", 0)
    during = keyed(org, spike.start, spike.end, spike.key_id)["completions"][(spike.model,)]
    assert during["input_tokens"] > before + 1_000_000
    assert during["input_tokens"] > 10 * before
    assert keyed(org, spike.end, SIM_NOW, spike.key_id) == keyed(plain, spike.end, SIM_NOW, spike.key_id)


def test_the_dormant_key_is_silent_for_its_days_then_wakes():
    org = SyntheticOrg(replace(SIM_SPEC, scenarios=("dormant",), dormant_days=12))
    [dormant] = org.scenarios
    assert dormant.quiet_from == dormant.start - 12 * DAY
    assert not any(keyed(org, dormant.quiet_from, dormant.start, dormant.key_id).values())
    assert any(keyed(org, org.origin, dormant.quiet_from, dormant.key_id).values())
    woke = keyed(org, dormant.start, dormant.start + HOUR, dormant.key_id)["completions"]
    assert woke[(dormant.model,)]["num_model_requests"] > 0


def test_the_new_model_was_never_used_by_its_key_before():
    org = SyntheticOrg(replace(SIM_SPEC, scenarios=("new_model",)))
    [fresh] = org.scenarios
    before = keyed(org, org.origin, fresh.start, fresh.key_id)
    assert before["completions"]
    assert all((fresh.model,) not in truth for truth in before.values())
    during = keyed(org, fresh.start, fresh.end, fresh.key_id)["completions"]
    assert during[(fresh.model,)]["input_tokens"] > 0
    assert (fresh.model,) not in keyed(org, fresh.end, SIM_NOW, fresh.key_id)["completions"]


def test_the_spike_day_can_be_switched_off():
    org = SyntheticOrg(replace(SIM_SPEC, daily_spike=False))
    assert org.spike_day is None
    assert SyntheticOrg(SIM_SPEC).spike_day is not None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scenarios": ("heist",)}, "unknown"),
        ({"scenario_start": SIM_NOW}, "whole hour"),
        ({"dormant_days": 0}, "dormant_days"),
    ],
)
def test_bad_scenario_options_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        OrgSpec(**changes)

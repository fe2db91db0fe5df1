"""The synthetic organization has every feature the tracker must cope with."""

from __future__ import annotations

from collections import defaultdict

from simulator.catalog import UNKNOWN_MODEL, model_info
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW
from simulator.traffic import METRICS

DAY = 86400
HOUR = 3600


def all_usage(org, group_by):
    return {kind: org.usage_truth(kind, org.origin, org.now, group_by) for kind in METRICS}


def test_models_span_every_pool_and_kind_and_include_one_unknown_model(sim_org):
    usage = all_usage(sim_org, ("model",))
    models = {model for truth in usage.values() for (model,) in truth}
    groups = {model_info(m).group for m in models}

    assert len(models) >= 20
    assert {"large", "mini", "ineligible", "unknown"} <= groups
    assert all(usage[kind] for kind in METRICS), "every usage kind has traffic"
    assert (UNKNOWN_MODEL,) in usage["completions"]


def test_the_quiet_key_is_listed_but_never_used(api, sim_org):
    quiet = sim_org.directory.quiet_key_id
    used = {key for truth in all_usage(sim_org, ("api_key_id",)).values() for (key,) in truth}
    listed = {k.id for p in sim_org.projects(include_archived=True) for k in sim_org.api_keys(p.id)}
    assert quiet in listed
    assert quiet not in used


def test_the_deleted_key_appears_in_old_usage_only(sim_org):
    deleted = sim_org.directory.deleted_key_id
    until = next(k.active_until for k in sim_org.directory.keys if k.id == deleted)
    listed = {k.id for p in sim_org.projects(include_archived=True) for k in sim_org.api_keys(p.id)}
    early = sim_org.usage_truth("completions", sim_org.origin, until, ("api_key_id",))
    late = sim_org.usage_truth("completions", until, SIM_NOW, ("api_key_id",))
    assert deleted not in listed
    assert (deleted,) in early
    assert (deleted,) not in late


def test_playground_traffic_has_a_null_api_key_id_but_a_project_and_user(sim_org):
    truth = sim_org.usage_truth(
        "completions", sim_org.origin, SIM_NOW, ("api_key_id", "project_id", "user_id")
    )
    unattributed = [key for key in truth if key[0] is None]
    assert unattributed
    assert all(project and user for _, project, user in unattributed)


def test_service_account_keys_have_no_user_id(sim_org):
    accounts = {k.id for k in sim_org.directory.keys if k.user_id is None}
    truth = sim_org.usage_truth("completions", sim_org.origin, SIM_NOW, ("api_key_id", "user_id"))
    assert accounts
    assert all(user is None for key, user in truth if key in accounts)
    assert any(key in accounts for key, _ in truth)


def test_the_html_named_key_has_traffic(sim_org):
    key = sim_org.directory.xss_key_id
    assert next(k.name for k in sim_org.directory.keys if k.id == key) == "<img src=x onerror=alert(1)>"
    used = {k for truth in all_usage(sim_org, ("api_key_id",)).values() for (k,) in truth}
    assert key in used


def test_each_key_belongs_to_one_project_and_uses_a_few_models(sim_org):
    truth = sim_org.usage_truth("completions", sim_org.origin, SIM_NOW, ("api_key_id", "project_id", "model"))
    projects, models = defaultdict(set), defaultdict(set)
    for key, project, model in truth:
        projects[key].add(project)
        models[key].add(model)
    assert all(len(p) == 1 for p in projects.values())
    assert all(1 <= len(m) <= 5 for key, m in models.items() if key is not None)


def requests_in(org, start, end, group_by=()):
    return {
        key: values["num_model_requests"]
        for key, values in org.usage_truth("completions", start, end, group_by).items()
    }


def test_nights_and_weekends_are_quieter_and_the_spike_day_stands_out():
    org = SyntheticOrg(OrgSpec(seed=11, keys=60, projects=4, users=8, days=28, now=SIM_NOW))
    by_hour, by_weekday = defaultdict(int), defaultdict(int)
    for day in range(org.origin, SIM_NOW - SIM_NOW % DAY, DAY):
        if day != org.spike_day:
            by_weekday[(day // DAY + 3) % 7] += sum(requests_in(org, day, day + DAY).values())
    for hour in range(org.origin, org.origin + 14 * DAY, HOUR):
        by_hour[hour % DAY // HOUR] += sum(requests_in(org, hour, hour + HOUR).values())

    assert by_hour[3] * 2 < by_hour[14]  # 03:00 UTC against 14:00 UTC
    assert (by_weekday[5] + by_weekday[6]) * 2 < by_weekday[1] + by_weekday[2]  # weekend against Tue+Wed
    spike_key = (org.directory.spike_key_id,)
    daily = {
        day: requests_in(org, day, day + DAY, ("api_key_id",)).get(spike_key, 0)
        for day in range(org.origin, SIM_NOW - SIM_NOW % DAY, DAY)
    }
    others = [n for day, n in daily.items() if day != org.spike_day]
    assert daily[org.spike_day] > 4 * sum(others) / len(others)


def test_nothing_exists_in_the_future(sim_org):
    ahead = sim_org.usage_truth("completions", SIM_NOW, SIM_NOW + 30 * DAY)
    assert ahead == {}
    later = SyntheticOrg(sim_org.spec)
    later.now = SIM_NOW + 2 * HOUR
    assert later.usage_truth("completions", SIM_NOW, SIM_NOW + 30 * DAY) != {}


def test_the_new_key_has_usage_only_after_it_was_created(sim_org):
    key = next(k for k in sim_org.directory.keys if k.id == sim_org.directory.new_key_id)
    before = all_usage_between(sim_org, sim_org.origin, key.created_at)
    after = all_usage_between(sim_org, key.created_at, SIM_NOW)
    assert key.id not in before
    assert key.id in after


def test_keys_of_the_archived_project_stop_when_it_is_archived(sim_org):
    (archived,) = [p for p in sim_org.projects(include_archived=True) if p.archived_at]
    keys = {k.id for k in sim_org.api_keys(archived.id)}
    assert keys & all_usage_between(sim_org, sim_org.origin, archived.archived_at)
    assert not keys & all_usage_between(sim_org, archived.archived_at, SIM_NOW)


def all_usage_between(org, start, end):
    return {key for kind in METRICS for (key,) in org.usage_truth(kind, start, end, ("api_key_id",))}

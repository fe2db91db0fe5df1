"""Retries bounded by the time there is: the client against the simulator's fault switches.

A fake clock stands in for time: its `sleep` records the wait and advances its own time, so the
tests assert every wait and the number of calls, never how long anything took.
"""

from __future__ import annotations

import socket
from email.utils import formatdate

import pytest

from chalicelib.deadline import Deadline
from chalicelib.errors import OpenAIDeadlineExceeded, OpenAIMalformedData, OpenAIUnavailable
from chalicelib.openai_transport import DeadlineTimeout, RetryPolicy
from simulator.pytest_plugin import SIM_NOW
from tests.functional.clock_helpers import FakeClock, client_of

PROJECTS = "/organization/projects"


def test_a_retry_after_over_the_cap_gives_up_at_once_without_sleeping(sim_server):
    sim_server.rate_limit_every = 1
    sim_server.retry_after = 121
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock)  # no deadline: only the 120 s cap applies

    with pytest.raises(OpenAIDeadlineExceeded, match="over the 120 s") as caught:
        client.get(PROJECTS)

    assert caught.value.status == 429
    assert clock.slept == []
    assert sim_server.total_calls == 1
    assert (client.stats.calls, client.stats.retries) == (1, 0)


def test_a_retry_after_that_would_pass_the_deadline_gives_up_at_once(sim_server):
    sim_server.rate_limit_every = 1
    sim_server.retry_after = 30
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock, deadline_seconds=20)

    with pytest.raises(OpenAIDeadlineExceeded, match="would pass the deadline"):
        client.get(PROJECTS)

    assert clock.slept == []
    assert sim_server.total_calls == 1


def test_a_retry_after_within_the_deadline_is_waited_then_the_call_succeeds(sim_server):
    sim_server.rate_limit_every = 2  # the server's 2nd call is limited, the 3rd answers
    sim_server.retry_after = 3
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock, deadline_seconds=20)

    first = client.get(PROJECTS)
    second = client.get(PROJECTS)

    assert first == second
    assert clock.slept == [3.0]
    assert (client.stats.calls, client.stats.retries) == (3, 1)
    assert client.stats.by_path == {PROJECTS: 3}


def test_all_500_stops_at_the_attempt_limit_without_a_final_sleep(sim_server):
    sim_server.error_every = 1
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock, max_attempts=4, backoff_base=0.5)

    with pytest.raises(OpenAIUnavailable, match="gave up after 4 attempts") as caught:
        client.get(PROJECTS)

    assert not isinstance(caught.value, OpenAIDeadlineExceeded)
    assert caught.value.status == 500
    assert clock.slept == [0.5, 1.0, 2.0]  # three waits between four attempts, none after the last
    assert sim_server.total_calls == 4
    assert (client.stats.calls, client.stats.retries) == (4, 3)


def test_backoff_that_would_pass_the_deadline_stops_the_retries_early(sim_server):
    sim_server.error_every = 1
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock, max_attempts=10, backoff_base=1.0, deadline_seconds=5)

    with pytest.raises(OpenAIDeadlineExceeded, match="would pass the deadline"):
        client.get(PROJECTS)

    assert clock.slept == [1.0, 2.0]  # a third wait (4 s) would end after the 5 s deadline
    assert sim_server.total_calls == 3


def test_retry_after_ms_is_honoured_before_retry_after(sim_server):
    sim_server.rate_limit_every = 1
    sim_server.retry_after = 7
    sim_server.retry_after_ms = 1500
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock, max_attempts=2)

    with pytest.raises(OpenAIUnavailable, match="gave up after 2 attempts"):
        client.get(PROJECTS)

    assert clock.slept == [1.5]


def test_an_http_date_retry_after_is_honoured_on_the_clocks_wall_time(sim_server):
    clock = FakeClock(wall=float(SIM_NOW))
    sim_server.rate_limit_every = 2
    sim_server.retry_after = formatdate(SIM_NOW + 42, usegmt=True)
    client = client_of(sim_server.base_url, clock, deadline_seconds=60)

    client.get(PROJECTS)
    client.get(PROJECTS)

    assert clock.slept == [42.0]
    assert sim_server.total_calls == 3


def test_an_unreadable_retry_after_falls_back_to_the_backoff(sim_server):
    sim_server.rate_limit_every = 1
    sim_server.retry_after = "soon"
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock, max_attempts=3, backoff_base=0.5)

    with pytest.raises(OpenAIUnavailable, match="gave up after 3 attempts"):
        client.get(PROJECTS)

    assert clock.slept == [0.5, 1.0]


def test_slow_responses_end_the_call_at_its_deadline(sim_server):
    sim_server.delay_seconds = 60  # far longer than the attempt's timeout may be
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock, timeout=45.0, deadline_seconds=0.8)

    with pytest.raises(OpenAIDeadlineExceeded, match="ReadTimeoutError"):
        client.get(PROJECTS)

    # the attempt's timeout shrank to the 0.8 s left; waiting 0.5 s more would leave no time for another
    assert clock.slept == []
    assert sim_server.total_calls == 1


def test_each_attempt_timeout_shrinks_to_the_time_left():
    clock = FakeClock()
    policy = RetryPolicy(deadline=Deadline.after(5.0, clock), clock=clock)
    timeout = DeadlineTimeout(30.0, policy)

    assert timeout.clone().read_timeout == 5.0
    clock.sleep(3.5)
    assert timeout.clone().read_timeout == 1.5
    assert timeout.clone().connect_timeout == 1.5
    unbounded = RetryPolicy(deadline=Deadline.after(None, clock), clock=clock)
    assert DeadlineTimeout(30.0, unbounded).clone().read_timeout == 30.0


def test_a_call_after_the_deadline_is_refused_without_reaching_openai(sim_server):
    clock = FakeClock()
    client = client_of(sim_server.base_url, clock, deadline_seconds=10)
    clock.sleep(10)

    with pytest.raises(OpenAIDeadlineExceeded, match="no time left"):
        client.get(PROJECTS)

    assert sim_server.total_calls == 0
    assert client.stats.calls == 0


def test_connection_errors_are_retried_up_to_the_attempt_limit():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = FakeClock()
    client = client_of(f"http://127.0.0.1:{port}/v1", clock, max_attempts=3, backoff_base=0.25)

    with pytest.raises(OpenAIUnavailable, match="gave up after 3 attempts: ConnectionError"):
        client.get(PROJECTS)

    assert clock.slept == [0.25, 0.5]
    assert client.stats.calls == 3


def test_a_200_that_is_not_a_json_object_is_malformed_data_not_retried(sim_server):
    sim_server.rewrite = lambda _path, _payload: ["not", "an", "object"]
    client = client_of(sim_server.base_url, FakeClock())

    with pytest.raises(OpenAIMalformedData, match="not an object"):
        client.get(PROJECTS)

    assert sim_server.total_calls == 1

"""`make demo`: everything comes up, answers, and goes down with no process left, however it is stopped."""

from __future__ import annotations

import fcntl
import re
import signal
import subprocess
import sys

import pytest

from devstack import DevstackError, group_exists, http_answers
from devstack.demo import Demo, _empty
from devstack.outage import Outage, OutagePlan, parse_outage, with_port
from devstack.stack import ROOT


def _demo(*args: str, tmp_path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "devstack.demo",
        "--log-dir",
        str(tmp_path / "logs"),
        "--env-file",
        str(tmp_path / "demo.env"),
        "--backfill-days",
        "2",
        *args,
    ]


def _persistent(*args: str, tmp_path) -> list[str]:
    # Never the default .local/demo-data: it is a person's demo data (and other checkouts' too).
    return _demo("--data-dir", str(tmp_path / "data"), *args, tmp_path=tmp_path)


def _checked(argv: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`--check` run to its end (the timeout only ends a hung run; nothing is asserted on time)."""
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def test_demo_check_starts_everything_verifies_it_and_stops(tmp_path) -> None:
    done = _checked(_demo("--check", tmp_path=tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check: services alive, init idempotent" in done.stdout
    assert "demo check passed" in done.stdout


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a script leaves its children


@pytest.mark.parametrize(
    ("sig", "inherited"),
    [(signal.SIGINT, None), (signal.SIGTERM, None), (signal.SIGINT, _ignore_sigint)],
    ids=["ctrl-c", "sigterm", "ctrl-c-started-in-the-background"],
)
def test_demo_runs_until_stopped_and_leaves_nothing(tmp_path, sig: signal.Signals, inherited) -> None:
    # Waits on events only (the banner line, the demo's exit), never on the clock: a loaded machine
    # makes it slower, not red. stderr goes to a file, so a chatty demo cannot block on a full pipe.
    stderr_path = tmp_path / "demo.stderr"
    with stderr_path.open("w") as stderr:
        demo = subprocess.Popen(
            _persistent(tmp_path=tmp_path),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            preexec_fn=inherited,  # noqa: PLW1509 - no threads are started between fork and exec
        )
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        banner = "".join(lines)
        assert "OpenAI Usage Tracker demo is running." in banner, banner + stderr_path.read_text()
        pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", banner)]
        assert len(pids) >= 2
        assert "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:" in banner
        env_file = tmp_path / "demo.env"
        assert "export AWS_ENDPOINT_URL=" in env_file.read_text()
        # What the API and the collector run with: the demo uses the views bucket.
        assert "export VIEWS_BUCKET=openai-usage-tracker-views-local" in env_file.read_text()
        assert "views  openai-usage-tracker-views-local" in banner

        demo.send_signal(sig)
        rest = demo.stdout.read()  # to EOF: the demo has exited (its services log to files)
        returncode = demo.wait()

        assert returncode == 0, rest + stderr_path.read_text()
        assert "stopped." in rest
        # The demo checks its process groups are gone before it exits 0; they stay gone.
        assert [pid for pid in pids if group_exists(pid)] == []
        assert not env_file.exists()
    finally:
        demo.kill()
        demo.wait()


def test_demo_check_rides_out_an_outage_and_the_next_run_finds_its_data(tmp_path) -> None:
    first = _checked(_persistent("--check", "--outage", "0+1", tmp_path=tmp_path), timeout=240)
    second = _checked(_persistent("--check", tmp_path=tmp_path))

    assert first.returncode == 0, first.stdout + first.stderr
    assert "init idempotent (table created)" in first.stdout
    assert "collect fails and /api/health answers 503 (last_run_failed)" in first.stdout
    assert "back on the same port, the next collection catches up, health is ok" in first.stdout
    assert (tmp_path / "data" / "shared-local-instance.db").is_file()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "init idempotent (table kept from an earlier run)" in second.stdout


def _line_starting(stream, prefix: str) -> str:
    for line in stream:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"the demo ended before printing {prefix!r}")


def test_sigusr1_stops_the_simulator_and_starts_it_again_on_the_same_port(tmp_path) -> None:
    demo = subprocess.Popen(
        _demo("--in-memory", tmp_path=tmp_path),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        simulator_line = _line_starting(demo.stdout, "  openai-simulator")
        url = simulator_line.split()[1]
        hint = _line_starting(demo.stdout, "Simulate an OpenAI outage")
        assert f"kill -USR1 {demo.pid}" in hint
        _line_starting(demo.stdout, "Stop with Ctrl-C")

        demo.send_signal(signal.SIGUSR1)
        stopped = _line_starting(demo.stdout, "outage:")
        down = http_answers(f"{url}/organization/projects")
        demo.send_signal(signal.SIGUSR1)
        back = _line_starting(demo.stdout, "outage over:")
        up = http_answers(f"{url}/organization/projects")
        still_running = demo.poll() is None

        assert "openai-simulator stopped" in stopped
        assert not down
        assert url in back
        assert up
        assert still_running  # the rest of the demo rode it out
        demo.send_signal(signal.SIGTERM)
        rest, _ = demo.communicate(timeout=60)
        assert demo.returncode == 0, rest
    finally:
        demo.kill()
        demo.wait()


def test_outage_schedules_parse_and_fire_each_stop_and_start_once() -> None:
    plan = OutagePlan([parse_outage("10+5"), parse_outage("30+2.5")], started=100.0)

    assert parse_outage(" 0+1 ") == Outage(0, 1)
    assert plan.due(105.0) == []
    assert plan.due(110.0) == [True]
    assert plan.due(120.0) == [False]
    assert plan.due(200.0) == [True, False]
    assert plan.due(300.0) == []
    for bad in ("10", "10+0", "x+5", "-1+5"):
        with pytest.raises(Exception, match="AFTER\\+FOR"):
            parse_outage(bad)
    assert with_port(["-m", "simulator", "--port", "0", "--seed=7"], 4321) == [
        "-m", "simulator", "--port", "4321", "--seed=7",
    ]  # fmt: skip


def test_a_data_folder_in_use_is_refused_and_fresh_empties_it(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "shared-local-instance.db").write_text("tables")
    first = Demo(root=ROOT, log_dir=tmp_path, timeout=5, data_dir=data)
    second = Demo(root=ROOT, log_dir=tmp_path, timeout=5, data_dir=data)
    first.lock_data_dir()
    with pytest.raises(DevstackError, match="another demo is using"):
        second.lock_data_dir()
    with pytest.raises(SystemExit, match="another demo is using"):
        _empty(data)
    first.stop()

    _empty(data)

    assert [p.name for p in data.iterdir()] == [".demo.lock"]
    with (data / ".demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the demo's stop

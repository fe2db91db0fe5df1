"""`make demo`: everything comes up, answers, and goes down with no process left, however it is stopped."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from devstack import group_exists
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


def test_demo_check_starts_everything_verifies_it_and_stops(tmp_path) -> None:
    done = subprocess.run(
        _demo("--check", tmp_path=tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check: services alive, init idempotent" in done.stdout
    assert "demo check passed" in done.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_runs_until_stopped_and_leaves_nothing(tmp_path, sig: signal.Signals) -> None:
    demo = subprocess.Popen(
        _demo(tmp_path=tmp_path), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        banner = "".join(lines)
        assert "OpenAI Usage Tracker demo is running." in banner, banner + (
            demo.stderr.read() if demo.stderr else ""
        )
        pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", banner)]
        assert len(pids) >= 2
        assert "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:" in banner
        env_file = tmp_path / "demo.env"
        assert "export AWS_ENDPOINT_URL=" in env_file.read_text()

        demo.send_signal(sig)
        rest, _ = demo.communicate(timeout=60)
        assert demo.returncode == 0, rest
        assert "stopped." in rest
        deadline = time.monotonic() + 5
        while any(group_exists(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in pids if group_exists(pid)] == []
        assert not env_file.exists()
    finally:
        demo.kill()
        demo.wait()

"""`make demo`: the tracker running on this machine, with no AWS account and no OpenAI key.

The demo is a list of steps run in order. A step may start long-running services (the demo keeps them
and stops them newest first) and may export variables that later steps, and the person at the
terminal, use:

    local_aws   DynamoDB Local + moto server       AWS_ENDPOINT_URL*, fake credentials
    simulator   the OpenAI admin API simulator     OPENAI_BASE_URL, OPENAI_ADMIN_KEY
    init        python -m chalicelib.cli init       USAGE_TABLE, ALERTS_TOPIC_ARN
    backfill    collect --start .. --end, collect   30 days of the simulated organization, then now
    token       tokens create --role viewer         the token the dashboard asks for
    api         chalice local on a free port        the API the dashboard reads
    dashboard   devstack.dashboard on a free port   frontend/ with config.js naming the API
    collector   devstack.collect_loop               what @app.schedule does, every minute

Ctrl-C, SIGTERM and SIGHUP stop everything. `--check` starts everything, verifies it, stops, and
checks that no process is left: what the tests and CI run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from devstack.process import DevstackError, ManagedProcess, free_port, group_exists, http_answers, stop_all
from devstack.stack import LOCAL_DIR, ROOT, UNSET_VARS, LocalStack

DAY = 86400
DEMO_ADMIN_KEY = "sk-admin-demo-local-only"
DEMO_TABLE = "openai-usage-tracker"
DEMO_TOPIC = "openai-usage-tracker-alerts"
ENV_FILE = LOCAL_DIR / "demo.env"
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Shutdown(Exception):
    """A stop signal arrived (SIGINT arrives as KeyboardInterrupt instead)."""


@dataclass
class Demo:
    """What the steps share: the environment they build up, the services they started, what to print."""

    root: Path
    log_dir: Path
    timeout: float
    simulator_args: list[str] = field(default_factory=list)
    backfill_days: int = 30
    collect_every: float = 60.0
    env: dict[str, str] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    services: list[ManagedProcess] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    env_file: Path | None = None
    api_url: str = ""
    dashboard_origin: str = ""

    def export(self, variables: dict[str, str]) -> None:
        """Make `variables` part of every later step's environment and of the printed exports."""
        self.env.update(variables)
        self.exports.update(variables)

    def keep(self, *services: ManagedProcess) -> None:
        """Own already-started services: they are stopped with the demo."""
        self.services.extend(services)

    def start_service(self, service: ManagedProcess) -> None:
        """Start a service, own it, and wait until it answers."""
        self.keep(service)
        service.start()
        service.wait_ready(time.monotonic() + self.timeout)

    def run_cli(self, *args: str) -> dict[str, Any]:
        """Run `python -m chalicelib.cli --json ARGS` as a person would; its JSON output."""
        argv = [sys.executable, "-m", "chalicelib.cli", "--json", *args]
        done = subprocess.run(  # noqa: S603 (fixed argv)
            argv,
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        if done.returncode != 0:
            raise DevstackError(f"`{shlex.join(argv[1:])}` failed ({done.returncode}): {done.stderr.strip()}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def first_dead(self) -> ManagedProcess | None:
        """A service that has exited on its own, if any."""
        return next((s for s in self.services if not s.alive), None)

    def stop(self) -> list[int]:
        """Stop every service, newest first; returns the process groups still alive after (none)."""
        if self.env_file is not None:
            self.env_file.unlink(missing_ok=True)  # its endpoints are about to go
        stop_all(self.services)
        return [s.pid for s in self.services if s.pid is not None and group_exists(s.pid)]


Step = Callable[[Demo], None]


def local_aws(demo: Demo) -> None:
    """DynamoDB Local + moto on free ports; fake credentials."""
    stack = LocalStack(log_dir=demo.log_dir, startup_timeout=demo.timeout)
    stack.start()
    demo.keep(*stack.processes)
    for name in UNSET_VARS:
        demo.env.pop(name, None)
    demo.export(stack.env())
    demo.export({"USAGE_TABLE": DEMO_TABLE, "ALERTS_TOPIC_NAME": DEMO_TOPIC})


def simulator(demo: Demo) -> None:
    """The OpenAI admin API simulator, when this tree has it, on a port it picks itself."""
    if not (demo.root / "simulator" / "__main__.py").is_file():
        demo.notes.append("OpenAI simulator: not in this tree yet (simulator/); OPENAI_BASE_URL is not set")
        return
    log_path = demo.log_dir / "openai-simulator.log"
    log_path.unlink(missing_ok=True)  # its first line is read back below
    service = ManagedProcess(
        "openai-simulator",
        [sys.executable, "-m", "simulator", "--port", "0", *demo.simulator_args],
        ready=lambda: _announced_url_answers(service),
        env=demo.env,
        cwd=demo.root,
        log_path=log_path,
    )
    demo.start_service(service)
    demo.export({"OPENAI_BASE_URL": service.url, "OPENAI_ADMIN_KEY": DEMO_ADMIN_KEY})


def _announced_url_answers(service: ManagedProcess) -> bool:
    # `python -m simulator` prints its base URL as its first line once it listens (no port race).
    if not service.url:
        with contextlib.suppress(OSError):
            first = service.log_path.read_text().partition("\n")[0].strip()
            if first.startswith("http://"):
                service.url = first
    return bool(service.url) and http_answers(f"{service.url}/organization/projects")


def init(demo: Demo) -> None:
    """Create the table and the alerts topic through the CLI."""
    result = demo.run_cli("init")
    demo.export({"ALERTS_TOPIC_ARN": result["topic_arn"]})
    demo.notes.append(f"table  {result['table']}")
    demo.notes.append(f"topic  {result['topic_arn']}")


def backfill(demo: Demo) -> None:
    """Fill the table: a backfill of the last days, then one incremental run (data-as-of, names)."""
    today = int(time.time()) // DAY * DAY
    start, end = today - (demo.backfill_days - 1) * DAY, today + DAY
    print(f"backfilling {demo.backfill_days} days of the simulated organization...", flush=True)
    done = demo.run_cli("collect", "--start", _day(start), "--end", _day(end))
    demo.run_cli("collect")
    demo.notes.append(
        f"data   {len(done['days'])} days backfilled, then collected every {demo.collect_every:g} s"
    )


def token(demo: Demo) -> None:
    """A viewer token for the dashboard (only its hash is stored)."""
    created = demo.run_cli("tokens", "create", "--role", "viewer", "--name", "demo dashboard")
    demo.notes.append(f"token  {created['token']}   (paste it when the dashboard asks)")


def api(demo: Demo) -> None:
    """`chalice local` on a free port; CORS admits the dashboard's origin (chosen here too)."""
    port, dashboard_port = free_port(), free_port()
    demo.dashboard_origin = f"http://127.0.0.1:{dashboard_port}"
    url = f"http://127.0.0.1:{port}"
    chalice = str(Path(sys.executable).with_name("chalice"))
    service = ManagedProcess(
        "api (chalice local)",
        [chalice, "local", "--stage", "local", "--no-autoreload", "--host", "127.0.0.1", "--port", str(port)],
        ready=lambda: http_answers(f"{url}/api/health"),
        url=url,
        env={**demo.env, "STAGE": "local", "DASHBOARD_ORIGIN": demo.dashboard_origin},
        cwd=demo.root,
        log_path=demo.log_dir / "api.log",
    )
    demo.start_service(service)
    demo.api_url = url


def dashboard(demo: Demo) -> None:
    """The static dashboard with a config.js naming the API."""
    port = demo.dashboard_origin.rsplit(":", 1)[1]
    service = ManagedProcess(
        "dashboard",
        [
            sys.executable,
            "-m",
            "devstack.dashboard",
            "--api-url",
            demo.api_url,
            "--port",
            port,
            "--stage",
            "demo",
        ],
        ready=lambda: http_answers(f"{demo.dashboard_origin}/"),
        url=f"{demo.dashboard_origin}/",
        env=demo.env,
        cwd=demo.root,
        log_path=demo.log_dir / "dashboard.log",
    )
    demo.start_service(service)


def collector(demo: Demo) -> None:
    """The schedule's stand-in: an incremental collection every `collect_every` seconds."""
    service = ManagedProcess(
        "collector",
        [sys.executable, "-m", "devstack.collect_loop", "--every", f"{demo.collect_every:g}"],
        ready=lambda: True,
        env=demo.env,
        cwd=demo.root,
        log_path=demo.log_dir / "collector.log",
    )
    demo.start_service(service)


def _day(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


STEPS: tuple[Step, ...] = (local_aws, simulator, init, backfill, token, api, dashboard, collector)


def check(demo: Demo) -> None:
    """Verify a started demo: every service alive, `init` idempotent, the simulator takes the demo key."""
    dead = demo.first_dead()
    if dead:
        raise DevstackError(f"{dead.name} exited with status {dead.returncode}\n{dead.log_tail()}")
    again = demo.run_cli("init")
    if again["table_created"] or again["topic_arn"] != demo.exports["ALERTS_TOPIC_ARN"]:
        raise DevstackError(f"a second init was not a no-op: {again}")
    print("check: services alive, init idempotent")
    if "OPENAI_BASE_URL" in demo.exports:
        request = urllib.request.Request(  # noqa: S310 (our own loopback URL)
            f"{demo.exports['OPENAI_BASE_URL']}/organization/projects",
            headers={"Authorization": f"Bearer {DEMO_ADMIN_KEY}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = json.load(response)
        if "data" not in body:
            raise DevstackError(f"the simulator's project list has no data: {body}")
        print("check: the simulator answers with the demo admin key")
    if demo.api_url:
        viewer = demo.run_cli("tokens", "create", "--role", "viewer", "--name", "demo check")["token"]
        week_ago = int(time.time()) - 7 * DAY
        usage = _get_json(f"{demo.api_url}/api/usage?start_time={week_ago}&group_by=api_key_id", viewer)
        if not usage.get("groups"):
            raise DevstackError(f"/api/usage has no groups after the backfill: {usage}")
        health = _get_json(f"{demo.api_url}/api/health", None, also_ok=(503,))  # 503 = degraded, a fact
        print(f"check: the API answers ({len(usage['groups'])} keys this week, health {health['status']})")
    if demo.dashboard_origin:
        with urllib.request.urlopen(f"{demo.dashboard_origin}/config.js", timeout=10) as response:  # noqa: S310
            if demo.api_url not in response.read().decode():
                raise DevstackError("the dashboard's config.js does not name the API")
        print("check: the dashboard is served with config.js naming the API")


def _get_json(url: str, bearer: str | None, also_ok: tuple[int, ...] = ()) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (our own loopback URL)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code in also_ok:
            answered: dict[str, Any] = json.load(exc)
            return answered
        raise DevstackError(f"GET {url} answered {exc.code}: {exc.read().decode(errors='replace')}") from exc
    return body


def write_env_file(demo: Demo, path: Path = ENV_FILE) -> None:
    """`.local/demo.env`: `source` it to use the CLI against the running demo (removed on stop)."""
    lines = [f"unset {' '.join(UNSET_VARS)}"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(demo.exports.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    demo.env_file = path


def banner(demo: Demo) -> str:
    """What a person needs: where everything answers, how to use it, how to stop."""
    width = max(len(s.name) for s in demo.services)
    lines = ["", "OpenAI Usage Tracker demo is running.", ""]
    lines += [f"  {s.name:<{width}}  {s.url}  (pid {s.pid})" for s in demo.services]
    lines += ["", *(f"  {note}" for note in demo.notes), ""]
    lines += [
        "Use the CLI against it from another shell:",
        f"  source {_relative(demo.env_file or ENV_FILE)}",
        "  .venv/bin/python -m chalicelib.cli init",
        "",
        "which sets:",
        *(f"  {name}={value}" for name, value in sorted(demo.exports.items())),
        "",
        f"Logs: {_relative(demo.log_dir)}/",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextmanager
def _stop_signals_raise() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Shutdown(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS if sig != signal.SIGINT}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _stop_signals_ignored() -> Iterator[None]:
    # A second Ctrl-C must not cut the teardown short: every stop is bounded anyway.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _wait(demo: Demo) -> int:
    while True:
        dead = demo.first_dead()
        if dead:
            print(f"\n{dead.name} exited with status {dead.returncode}\n{dead.log_tail()}", file=sys.stderr)
            return 1
        time.sleep(0.5)


def run(demo: Demo, *, check_only: bool, env_file: Path = ENV_FILE, steps: Sequence[Step] = STEPS) -> int:
    """Run the steps, then check (and return) or wait for a stop signal; always stop everything."""
    code = 0
    try:
        with _stop_signals_raise():
            try:
                for step in steps:
                    step(demo)
                if check_only:
                    check(demo)
                else:
                    write_env_file(demo, env_file)
                    print(banner(demo), flush=True)
                    code = _wait(demo)
            except (KeyboardInterrupt, Shutdown):
                print("\nstopping...", flush=True)
            except DevstackError as exc:
                print(f"demo failed: {exc}", file=sys.stderr)
                code = 1
    finally:
        with _stop_signals_ignored():
            left = demo.stop()
    if left:
        print(f"processes left behind: {left}", file=sys.stderr)
        return 1
    print("demo check passed: everything started, answered and stopped" if check_only else "stopped.")
    return code


def main(argv: list[str] | None = None) -> int:
    """`python -m devstack.demo [--check]`."""
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description="Run the tracker locally.")
    parser.add_argument(
        "--check", action="store_true", help="start, verify, stop, and exit (non-interactive)"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each service has to answer")
    parser.add_argument("--log-dir", type=Path, default=LOCAL_DIR / "demo-logs", help="where services log")
    parser.add_argument(
        "--env-file", type=Path, default=ENV_FILE, help="where to write the exports to source"
    )
    parser.add_argument(
        "--simulator-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `python -m simulator` (repeatable), e.g. --simulator-arg=--seed=7",
    )
    parser.add_argument("--backfill-days", type=int, default=30, help="days of history to collect first")
    parser.add_argument("--collect-every", type=float, default=60.0, help="seconds between collections")
    args = parser.parse_args(argv)
    log_dir: Path = args.log_dir.resolve()
    for old in log_dir.glob("*.log"):  # this run's logs only
        old.unlink()
    demo = Demo(
        root=ROOT,
        log_dir=log_dir,
        timeout=args.timeout,
        simulator_args=args.simulator_arg,
        backfill_days=max(1, args.backfill_days),
        collect_every=args.collect_every,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return run(demo, check_only=args.check, env_file=args.env_file)


if __name__ == "__main__":
    raise SystemExit(main())

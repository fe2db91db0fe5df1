"""The demo's stand-in for `@app.schedule`: `chalice local` never fires schedules, so this runs the
same incremental collection (`python -m chalicelib.cli collect`) every N seconds until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from chalicelib.cli.main import main as cli_main


def main(argv: list[str] | None = None) -> int:
    """`python -m devstack.collect_loop [--every SECONDS]`."""
    parser = argparse.ArgumentParser(prog="python -m devstack.collect_loop")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between collections")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    print(f"collecting every {args.every:g} s", flush=True)
    while not stop.is_set():
        code = cli_main(["collect"])
        if code != 0:
            print(
                f"collection failed with exit code {code}; trying again next time",
                file=sys.stderr,
                flush=True,
            )
        stop.wait(args.every)  # wakes at once on SIGTERM/SIGINT
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

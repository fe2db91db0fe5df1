"""`python -m simulator`: serve a synthetic organization in the foreground until Ctrl-C or SIGTERM.

The first line on stdout is the base URL (for OPENAI_BASE_URL), so scripts can read it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from simulator.org import OrgSpec, SyntheticOrg
from simulator.server import SimulatorServer


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until interrupted; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--projects", type=int, default=6)
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--now", type=int, default=None, help="fixed clock (Unix seconds); default real time")
    parser.add_argument("--admin-key", default=None, help="accept only this key (default: any sk-admin-...)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        spec = OrgSpec(
            seed=args.seed,
            keys=args.keys,
            projects=args.projects,
            users=args.users,
            days=args.days,
            now=args.now,
        )
    except ValueError as error:
        parser.error(str(error))
    server = SimulatorServer(SyntheticOrg(spec), args.host, args.port, admin_key=args.admin_key)
    server.verbose = args.verbose
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with server:
        print(server.base_url, flush=True)
        print("OpenAI admin API simulator running; Ctrl-C to stop.", file=sys.stderr, flush=True)
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Starting and stopping: the context manager frees its port, `python -m simulator` runs and stops cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from simulator.org import SyntheticOrg
from simulator.pytest_plugin import SIM_SPEC
from simulator.server import SimulatorServer

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_stops_and_releases_its_port_with_idle_connections_open():
    with SimulatorServer(SyntheticOrg(SIM_SPEC)) as server:
        session = requests.Session()  # keeps its connection alive after the call
        assert session.get(
            server.base_url + "/organization/users", headers={"Authorization": "Bearer sk-admin-x"}
        ).ok
        port = server.port
        assert server.base_url == f"http://127.0.0.1:{port}/v1"
    with socket.socket() as probe:  # nothing listens any more: the port can be bound again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    session.close()


def test_python_m_simulator_prints_the_base_url_serves_and_stops_on_sigterm():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--port",
            "0",
            "--seed",
            "5",
            "--keys",
            "8",
            "--projects",
            "2",
            "--days",
            "3",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        response = requests.get(
            f"{base_url}/organization/projects", headers={"Authorization": "Bearer sk-admin-x"}, timeout=10
        )
        assert response.status_code == 200
        assert len(response.json()["data"]) == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()

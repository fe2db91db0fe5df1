"""Chalice wiring: routes, the schedule and middleware. Each handler makes one call into chalicelib."""

from __future__ import annotations

from chalice import Chalice

app = Chalice(app_name="openai-usage-tracker")

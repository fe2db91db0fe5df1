"""OpenAI Usage Tracker: the application package Chalice deploys beside app.py."""

__version__ = "0.1.0"

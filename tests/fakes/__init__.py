"""Test doubles that speak real wire protocols (a fake LLM HTTP server)."""

"""Baton: a language server that runs teams of coding agents."""

__version__ = "0.1.0"

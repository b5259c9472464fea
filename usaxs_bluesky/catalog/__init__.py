"""Tiled catalog of every run: open it, search it."""

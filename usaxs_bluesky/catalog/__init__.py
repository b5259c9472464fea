"""Tiled catalog of every run: open it, search it."""

DEFAULT_MOUNT = "usaxs"  # the name the server mounts the catalog of runs under, as the facility's

"""Bluesky/ophyd integration of the APS USAXS/SAXS/WAXS instrument.

Importing the package has no side effects: no connections, no files.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("usaxs_bluesky")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

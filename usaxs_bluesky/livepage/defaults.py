"""Defaults of the live page (no imports: the ``usaxs`` parser reads them at start-up)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8020
#: how far back the page's session of runs reaches by default (hours)
DEFAULT_SESSION_HOURS = 24.0
#: how often the page asks for updates (ms) and the feed reads the catalog (s)
DEFAULT_REFRESH_MS = 2000
DEFAULT_CATALOG_POLL_S = 1.0

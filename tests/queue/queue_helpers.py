"""Helpers of the queue tests."""

TIMEOUT_S = 300
"""Seconds allowed for the queue to go idle (opening the environment, running plans)."""


def history(api, n):
    """The last ``n`` finished queue items, oldest first."""
    return api.history_get()["items"][-n:]

"""Fixtures of the plan tests."""

import pytest

from usaxs_bluesky.plans.suspenders import install_beam_suspenders


@pytest.fixture
def suspended(usaxs_session):
    """The session with beam suspenders installed (resume 0.2 s after the beam returns)."""
    RE = usaxs_session.RE
    suspenders = install_beam_suspenders(RE, usaxs_session.instrument, resume_delay_s=0.2)
    yield usaxs_session, suspenders
    for s in suspenders:
        RE.remove_suspender(s)

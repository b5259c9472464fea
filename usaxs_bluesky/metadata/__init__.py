"""Metadata policy: what every run must carry, checked before anything moves."""

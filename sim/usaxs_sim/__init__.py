"""Simulated APS USAXS/SAXS/WAXS instrument (12-ID-E): caproto IOC, physics, launcher.

Start it with ``python -m usaxs_sim`` or :class:`usaxs_sim.launcher.SimProcess`;
see docs/simulator.md.
"""

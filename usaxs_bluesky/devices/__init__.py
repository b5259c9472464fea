"""ophyd device classes of the USAXS instrument, one module per hardware family.

Classes only: nothing here connects to EPICS at import time. The named
devices are built from a PV map by :mod:`usaxs_bluesky.instrument`.
"""

"""``usaxs live``: a web page with the instrument's status and its latest reduced data.

A process of its own, apart from the RunEngine: the status comes from the
instrument's PVs (Channel Access monitors, :mod:`.status`), the runs from the
catalog (:mod:`.runs`), the curves and frames from the files the catalog
records (:mod:`.data`); :mod:`.app` serves them as JSON behind the same API
keys as ``usaxs serve`` (:mod:`.access`), and :mod:`.snapshot` writes the page
as static files.
"""

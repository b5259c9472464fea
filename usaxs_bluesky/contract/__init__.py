"""The run-and-file contract shared by plans, callbacks, catalog and reduction.

Ground floor: imports no other ``usaxs_bluesky`` room. ``names`` holds the
start-document keys, plan, stream and data keys and the facility's field and
file names; ``files`` the data-file layer (folders, safe names, order numbers,
exclusive creation); ``publish`` the one write-then-publish helper;
``geometry`` the USAXS geometry and the amplifier-range law.
"""

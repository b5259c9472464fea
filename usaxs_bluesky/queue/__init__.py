"""The queue server (bluesky-queueserver) and remote operation of the instrument.

``file_check`` checks command files outside a RunEngine; ``startup/usaxs_startup.py``
is RE Manager's startup script (a script, as running it connects the
instrument), which calls ``environment.build_namespace`` on
:func:`usaxs_bluesky.session.make_session` like the IPython profile;
``plans`` holds the plans it exposes; ``batch`` turns a command file into one
queue batch; ``manager`` starts RE Manager and Redis, ``http`` the HTTP door.
"""

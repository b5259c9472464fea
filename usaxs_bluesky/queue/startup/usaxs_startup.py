"""RE Manager startup script (``start-re-manager --startup-script <this file>``).

A script, not a module of the package, since running it connects the instrument.

Builds the session exactly as the IPython profile does
(:func:`usaxs_bluesky.session.make_session`: devices, metadata policy,
catalog, NeXus writer, live reduction) and installs the beam suspenders.
Environment (set by ``usaxs queue start``):

  USAXS_DATA_DIR            data and catalog folder (default ./usaxs_data)
  USAXS_PV_MAP              PV map (default: the packaged 12-ID-E map)
  USAXS_METADATA_REQUESTS   a metadata request file every run records (optional)
  USAXS_RESUME_DELAY_S      seconds after the beam returns before resuming (default 10)
  USAXS_CONNECT_TIMEOUT_S   seconds to wait for every PV to connect (default 60)
  USAXS_REMOTE_FOLDERS      folders (os.pathsep-separated) from which the ``remote_ops``
                            plan runs command files; unset: no ``remote_ops`` plan

Names it defines: ``RE``, ``session``, every device of the instrument by its
name, and the plans of :func:`usaxs_bluesky.queue.plans.queue_plans`.
"""

from usaxs_bluesky.queue.environment import build_namespace

globals().update(build_namespace())
del build_namespace

"""Sub-commands of ``usaxs``: one module each, with ``register(subparsers)``.

Every module here is found by :mod:`usaxs_bluesky.cli`; ``register`` adds
its parser and sets ``func`` to a callable(args) -> exit status.
"""

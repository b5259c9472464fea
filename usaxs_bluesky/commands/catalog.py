"""``usaxs catalog``: verify recorded files; rebuild runs from NeXus files; replay the journal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_catalog_options
from .find import open_for


def _verify(args: argparse.Namespace) -> int:
    from ..catalog.integrity import verify_catalog

    checked, problems = verify_catalog(open_for(args))
    for p in problems:
        print(f"{p.reason:8}  {p.path}  (run {p.uid})")
    if problems:
        print(
            f"usaxs catalog verify: {len(problems)} of {checked} recorded file(s) do not match",
            file=sys.stderr,
        )
        return 1
    print(f"{checked} recorded file(s) present with their recorded checksums")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from ..catalog.integrity import reindex
    from ..catalog.store import embedded_paths, open_catalog

    if not args.folder.is_dir():
        raise NotADirectoryError(f"{args.folder} is not a folder")
    catalog = open_catalog(args.data_dir, uri=args.uri, api_key=args.api_key)
    # the embedded catalog takes new runs many per transaction
    catalog_db = None if args.uri else embedded_paths(args.data_dir)["catalog"]
    result = reindex(catalog, args.folder, catalog_db=catalog_db)
    for path, reason in result.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    for uid, reason in result.streams_not_rebuilt:
        print(f"run {uid}: stream not rebuilt: {reason}", file=sys.stderr)
    print(
        f"{len(result.created)} run(s) created, {len(result.present)} already in the catalog, "
        f"{result.recorded} file(s) recorded, {len(result.skipped)} skipped"
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    from ..catalog.journal import journal_dir, replay_journal
    from ..catalog.store import open_catalog

    catalog = open_catalog(args.data_dir, uri=args.uri, api_key=args.api_key)
    result = replay_journal(catalog, journal_dir(args.data_dir))
    for uid in result.busy:
        print(f"left {uid}: its run is still being written", file=sys.stderr)
    print(
        f"{len(result.written)} run(s) written to the catalog, {len(result.present)} already"
        f" there, {result.files} file record(s) added, {len(result.busy)} left"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``catalog verify`` and ``catalog reindex DIR``."""
    p = sub.add_parser("catalog", help="check or rebuild the run catalog")
    actions = p.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="every recorded file exists with its checksum")
    add_catalog_options(verify)
    verify.set_defaults(func=_verify)
    rebuild = actions.add_parser("reindex", help="rebuild catalog runs from NeXus files on disk")
    add_catalog_options(rebuild)
    rebuild.add_argument("folder", type=Path, help="folder searched for NeXus files")
    rebuild.set_defaults(func=_reindex)
    replay = actions.add_parser(
        "replay", help="send runs kept in the journal (catalog was down) to the catalog"
    )
    add_catalog_options(replay)
    replay.set_defaults(func=_replay)

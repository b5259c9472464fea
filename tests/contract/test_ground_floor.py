"""The contract room is the ground floor: it imports no other room of the package."""

from __future__ import annotations

import ast
from pathlib import Path

import usaxs_bluesky.contract as contract

ROOM = Path(contract.__file__).resolve().parent


def test_contract_imports_no_other_room():
    for path in ROOM.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports {node.module} from another room"
                assert not (node.module or "").startswith("usaxs_bluesky"), path.name
            elif isinstance(node, ast.Import):
                assert not [a for a in node.names if a.name.startswith("usaxs_bluesky")]

"""The catalog writer's document normaliser, passing event pages through as pages.

TiledWriter's default :class:`RunNormalizer` deep-copies, schema-validates
and unpacks every event: an 8000-row fly-scan page becomes 8000 validated
event copies (seconds per fly scan). :class:`PageNormalizer` normalises the
start, descriptor and stop documents exactly as RunNormalizer does (they
carry the schema fixes: ``dtype_numpy``, shapes, object names) and hands an
event or event page of internal data already in the latest schema to the
writer unchanged, as RunNormalizer would have emitted it. Anything else
(external data, reserved key names, ``filled`` flags, undeclared keys) goes
through RunNormalizer as before, so the stored content is the same.

Importing this module imports ``bluesky_tiled_plugins`` (seconds): import it
where the writer is made.
"""

from __future__ import annotations

from typing import Any

from bluesky_tiled_plugins.writing.tiled_writer import RESERVED_DATA_KEYS, RunNormalizer
from event_model import DocumentNames

_RESERVED = frozenset(RESERVED_DATA_KEYS)


class PageNormalizer(RunNormalizer):
    """RunNormalizer emitting internal-data events and event pages as they are."""

    def _as_is(self, doc: dict[str, Any]) -> bool:
        """True when RunNormalizer would emit ``doc`` with the same data and timestamps."""
        keys = doc["data"].keys()
        return (
            not doc.get("filled")
            and keys <= self._int_keys
            and doc["timestamps"].keys() == keys
            and not keys & _RESERVED
        )

    def event(self, doc: Any) -> None:
        """Emit an internal-data event unchanged; anything else as RunNormalizer does."""
        if self._as_is(doc) and "event" not in self.patches:
            self.dispatcher.process(DocumentNames.event, doc)
        else:
            super().event(doc)

    def event_page(self, doc: Any) -> None:
        """Emit an internal-data event page as one page; anything else unpacked, as before."""
        if self._as_is(doc) and "event" not in self.patches:
            self.dispatcher.process(DocumentNames.event_page, doc)
        else:
            super().event_page(doc)

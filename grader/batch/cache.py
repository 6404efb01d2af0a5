"""Resumable result cache for ``grade batch``.

A cached result is valid only for the exact notebook bytes, golden set, grading config and grader
version that produced it, so all four go into the key: edit a notebook, rebuild the golden data,
change a limit or upgrade the grader, and the notebook is graded again.

Entries are content-addressed (``<root>/<key>.json.gz``): a renamed or moved notebook with the same
bytes is not regraded. Every write goes to a temp file in the same directory, then ``os.replace``,
so an interrupted batch leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

from grader.core.config import GradingConfig
from grader.core.fileio import atomic_write
from grader.core.models import GradeResult

#: bump when the cache layout or the meaning of a key changes
CACHE_FORMAT = 1


def config_fingerprint(config: GradingConfig) -> str:
    """A stable digest of everything in the config that can change a grade."""
    blob = json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_key(notebook: bytes, *, golden_id: str, config: GradingConfig, version: str) -> str:
    """Key of one grading: notebook content, golden set, config and grader version."""
    h = hashlib.sha256()
    for part in (
        f"rnn-grader-cache/{CACHE_FORMAT}",
        version,
        golden_id,
        config_fingerprint(config),
    ):
        h.update(part.encode())
        h.update(b"\0")
    h.update(hashlib.sha256(notebook).digest())
    return h.hexdigest()


class ResultCache:
    """Content-addressed store of ``GradeResult.to_dict()`` documents."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key.isalnum():  # keys are hex digests; refuse anything that could escape root
            raise ValueError(f"bad cache key {key!r}")
        return self.root / f"{key}.json.gz"

    def get(self, key: str) -> GradeResult | None:
        """The cached result, or None when absent or unreadable (then it is simply regraded)."""
        entry = self.entry(key)
        return None if entry is None else entry[0]

    def entry(self, key: str) -> tuple[GradeResult, dict[str, list[Any]] | None] | None:
        """The cached result and the integrity fingerprints stored with it (None if absent)."""
        try:
            data: Any = json.loads(gzip.decompress(self._path(key).read_bytes()))
            prints = data.get("fingerprints")
            return GradeResult.from_dict(data["result"]), (
                prints if isinstance(prints, dict) else None
            )
        except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(
        self,
        key: str,
        result: GradeResult | dict[str, Any],
        fingerprints: dict[str, list[Any]] | None = None,
    ) -> None:
        """Store a result (or its ``to_dict()`` document) and its integrity fingerprints."""
        doc: dict[str, Any] = {
            "format": CACHE_FORMAT,
            "key": key,
            "result": result if isinstance(result, dict) else result.to_dict(),
        }
        if fingerprints is not None:
            doc["fingerprints"] = fingerprints
        # gzip: results repeat their messages a lot (~10x smaller), and this is a second copy.
        atomic_write(self._path(key), gzip.compress(json.dumps(doc).encode(), mtime=0))

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

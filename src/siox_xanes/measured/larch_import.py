"""Importing xraylarch without losing the job's log.

Importing ``larch`` sets the root logger to WARNING, which silences every
INFO line a rule script writes afterwards; the level is put back here.
Every module of this package imports larch through ``load()``.
"""

from __future__ import annotations

import logging

_loaded = False


def load() -> None:
    global _loaded
    if _loaded:
        return
    root = logging.getLogger()
    level = root.level
    import larch.io  # noqa: F401
    import larch.xafs  # noqa: F401

    root.setLevel(level)
    _loaded = True

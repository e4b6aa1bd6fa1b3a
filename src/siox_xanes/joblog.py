"""Logging of a rule's job: its output and tracebacks go to the rule's ``log:`` file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)
            s.flush()

    def flush(self):
        for s in self.streams:
            s.flush()


def start(smk, name: str | None = None) -> logging.Logger:
    """Send this job's output and any traceback to its ``log:`` file (and the console)."""
    log_path = Path(smk.log[0])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(log_path, "w", buffering=1)
    sys.stdout = _Tee(sys.__stdout__, fh)
    sys.stderr = _Tee(sys.__stderr__, fh)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logger = logging.getLogger(name or smk.rule)
    logger.info("rule %s wildcards %s", smk.rule, dict(smk.wildcards.items()))
    return logger

"""Structured logs: one JSON object a line on stderr (start, config, upstream state changes, failures)."""

from __future__ import annotations

import json
import logging
import sys
from typing import IO, Any

from tes_contract.contract.formats import rfc3339_ms

LOGGER_NAME = "tes_contract.server"
logger = logging.getLogger(LOGGER_NAME)


class JsonLineFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, event, then the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": rfc3339_ms(int(record.created * 1000)),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback goes to the log (for the operator), never into an HTTP answer.
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def log_event(event: str, level: int = logging.INFO, exc_info: bool = False, **fields: Any) -> None:
    """Log one structured event: `log_event("upstream_state", upstream="worker", state="open")`."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={"fields": fields}, exc_info=exc_info)


def configure(level: str = "info", stream: IO[str] | None = None) -> logging.Handler:
    """Send the server's logs, as JSON lines, to `stream` (default stderr); returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
    return handler

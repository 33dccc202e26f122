"""How every gridshift process logs: text lines for people, or one JSON object a line for a log
pipeline (`log_format: json`, `--log-format json`). A decision (actions/decisions.py) is its own
fields in JSON, not a string inside one. Secrets are masked before a record is formatted
(secrets.RedactingFilter), whichever the format."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name,
        }
        decision = getattr(record, "decision", None)
        if isinstance(decision, dict):
            entry["message"] = "decision"
            entry["decision"] = decision
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str, log_format: str = "text") -> None:
    """The root logger at `level`, writing to stderr in `log_format` (FORMATS)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: expected one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)

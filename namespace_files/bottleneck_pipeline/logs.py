"""One structured line per event: JSON for Kestra and the log file, or text for a terminal.

Every line carries time, run id, period, stage, event, rows, seconds and message. Nothing else
goes into a log line, so no secret can reach one: messages are built by this package only.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path


class RunLog:
    def __init__(self, run_id: str, period: str, fmt: str = "text", stream=None):
        self.run_id = run_id
        self.period = period
        self.fmt = fmt
        self.stream = stream or sys.stdout
        self.lines: list[str] = []  # JSON lines, kept for the run's log file

    def event(
        self,
        stage: str,
        event: str,
        message: str = "",
        level: str = "info",
        rows_in: int | None = None,
        rows_out: int | None = None,
        seconds: float | None = None,
    ) -> None:
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "level": level,
            "run_id": self.run_id,
            "period": self.period,
            "stage": stage,
            "event": event,
            "rows_in": rows_in,
            "rows_out": rows_out,
            "seconds": seconds,
            "message": message,
        }
        line = json.dumps(record, ensure_ascii=False)
        self.lines.append(line)
        print(line if self.fmt == "json" else self._text(record), file=self.stream, flush=True)

    @staticmethod
    def _text(r: dict) -> str:
        parts = [r["time"][11:19], f"{r['stage']:<9}", f"{r['event']:<9}"]
        if r["rows_in"] is not None:
            parts.append(f"{r['rows_in']:>9,} -> {r['rows_out']:>9,} rows")
        if r["seconds"] is not None:
            parts.append(f"{r['seconds']:7.2f} s")
        if r["message"]:
            parts.append(r["message"])
        return "  ".join(parts)

    def write(self, path: Path) -> None:
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")

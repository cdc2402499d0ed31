"""Write webhook events and unsubscribes as new raw files, atomically.

One Parquet file per accepted request, under
`FLYWHEEL_RAW_DIR/email_events/webhook/<UTC day>/<UTC time>-<random>.parquet` (SendGrid events)
or `FLYWHEEL_RAW_DIR/unsubscribes/web/<UTC day>/...` (the unsubscribe endpoint): the names
never collide (a random UUID) and sort in the order the requests arrived, which is the
order the ingestion loads them in (and so which copy of a retried event staging keeps).
The file is written under a name starting with '.', which the ingestion ignores, flushed
to disk, then renamed: the ingestion never sees half a file, and a crash leaves at most a
hidden temporary file. Every column is text, as in the raw contract.
"""

import contextlib
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.feedback.webhook import EVENT_COLUMNS
from orchestration.ingestion.contract import RAW_TABLES

WEBHOOK_FOLDER = Path("email_events") / "webhook"
EVENTS_SCHEMA = pa.schema([(column, pa.string()) for column in EVENT_COLUMNS])
UNSUBSCRIBES_FOLDER = Path("unsubscribes") / "web"
# email, unsubscribed_at, group (null: every e-mail)
UNSUBSCRIBE_COLUMNS: tuple[str, ...] = RAW_TABLES["unsubscribes"].all_columns
UNSUBSCRIBES_SCHEMA = pa.schema([(column, pa.string()) for column in UNSUBSCRIBE_COLUMNS])


def write_email_events(
    raw_dir: Path,
    rows: Sequence[Mapping[str, str | None]],
    *,
    received_at: datetime | None = None,
) -> Path:
    """Write `rows` (the contract columns as text) as a new raw file and return its path."""
    return _write_raw_file(raw_dir / WEBHOOK_FOLDER, events_table(rows), received_at)


def write_unsubscribes(
    raw_dir: Path,
    rows: Sequence[Mapping[str, str | None]],
    *,
    received_at: datetime | None = None,
) -> Path:
    """Write unsubscribe rows (email, unsubscribed_at, group) as a new raw file."""
    table = pa.Table.from_pylist([dict(row) for row in rows], schema=UNSUBSCRIBES_SCHEMA)
    return _write_raw_file(raw_dir / UNSUBSCRIBES_FOLDER, table, received_at)


def _write_raw_file(base: Path, table: pa.Table, received_at: datetime | None) -> Path:
    received_at = (received_at or datetime.now(UTC)).astimezone(UTC)
    folder = base / received_at.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{received_at.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex}.parquet"
    final_path = folder / name
    temporary_path = folder / f".{name}.tmp"
    try:
        with temporary_path.open("xb") as handle:
            pq.write_table(table, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary_path, final_path)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise
    _fsync_directory(folder)
    return final_path


def events_table(rows: Sequence[Mapping[str, str | None]]) -> pa.Table:
    """The rows as an Arrow table of the contract columns, all text (missing keys: null)."""
    return pa.Table.from_pylist([dict(row) for row in rows], schema=EVENTS_SCHEMA)


def warm_up() -> None:
    """pyarrow's first table takes about a second: take it at start-up, not in a request."""
    events_table([])


def _fsync_directory(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

"""Typed, validated, parallel COPY of an ACRA file into a load table.

The file is cut into chunks at record boundaries (a newline outside quotes), and
``workers`` threads each stream chunks into the load table over their own connection
with a typed ``COPY ... (FORMAT csv, NULL 'na', FORCE_NULL (...))``: PostgreSQL converts
the ISO dates and integers itself, so every row is written once.

PostgreSQL's date and integer input is more lenient than the loader (``2019-2-3``,
``20190203``, ``+3`` all convert), so each chunk is first matched against
:data:`CHUNK_RE`, which accepts only what the strict loader in :mod:`db.acra` loads
identically: canonical ``YYYY-MM-DD`` dates of years 1000-2999, 1-5 digit SSIC codes
(padded afterwards), 1-9 digit officer counts, an upper-case trimmed UEN, a non-blank
entity name; any other field of the first 28 as CSV allows. A chunk that does not match
(or a COPY error: an impossible date, a wrong column count, bad quoting or encoding)
raises :class:`NotFastPath`, and the caller loads the file the strict way, which either
loads it or names the file, line and column of the first bad value. A missing value is
``na`` (quoted or not) or an empty unquoted field, as in the strict loader: empty unquoted
fields are rewritten to ``na`` before COPY.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import re2
from psycopg import sql

CHUNK = 1 << 20

_QUOTED = rb'"(?:[^"]|"")*"'
_ANY = rb'[^,"\n]*(?:' + _QUOTED + rb'[^,"\n]*)*'
_DATE = rb"(?:na|[12][0-9]{3}-[0-9]{2}-[0-9]{2}|)"
_CODE = rb"(?:na|[0-9]{1,5}|)"
_INT = rb"(?:na|[0-9]{1,9}|)"
_UEN = rb"[0-9A-Z]+"
# Not blank ('na' passes here and fails staging's NOT NULL once COPY reads it as NULL).
_NAME = rb'(?:[^,"\n]*[^ ,"\n][^,"\n]*|"(?:[^"]|"")*[^ "](?:[^"]|"")*")'
_TAIL = rb'[^"\n]*(?:' + _QUOTED + rb'[^"\n]*)*'
# Fields 1-28 of the 53 (uen .. no_of_officers) as the strict loader accepts them, then
# the rest of the record (COPY checks the column count).
_ROW = (
    rb",".join(
        [_UEN, _ANY, _NAME, *[_ANY] * 5, _DATE, _DATE, *[_ANY] * 9, _DATE, _DATE, _CODE, _ANY, _ANY]
        + [_CODE, _ANY, _ANY, _INT]
    )
    + rb"(?:,"
    + _TAIL
    + rb")?\n"
)
# RE2 (a DFA, linear time, releases the GIL) runs this about 3x faster than ``re``.
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20
CHUNK_RE = re2.compile(rb"(?:" + _ROW + rb")*", _OPTIONS)
_EMPTY = re2.compile(rb",(?:,|\r?\n)")  # an empty field (or ",," inside quotes)


class NotFastPath(Exception):
    """The file needs the strict loader (a value to reject or to load the strict way)."""


def chunks(path: Path, *, size: int = CHUNK) -> Iterator[bytes]:
    """Yield the file's data records (header skipped) in chunks ending at a record boundary."""
    with path.open("rb") as fh:
        fh.readline()
        carry = b""
        while block := fh.read(size):
            buf = carry + block
            cut = buf.rfind(b"\n") + 1
            while cut > 0 and buf.count(b'"', 0, cut) % 2:
                cut = buf.rfind(b"\n", 0, cut - 1) + 1
            if cut == 0:
                carry = buf
                continue
            carry = buf[cut:]
            yield buf[:cut]
        if carry:
            yield carry if carry.endswith(b"\n") else carry + b"\n"


def check_chunk(chunk: bytes) -> bytes:
    """Return the chunk ready for COPY (empty fields as ``na``); raise NotFastPath."""
    if CHUNK_RE.fullmatch(chunk) is None:
        raise NotFastPath("a record needs the strict loader")
    out: list[bytes] = []
    last = counted = quotes = 0
    while (m := _EMPTY.search(chunk, counted)) is not None:
        at = m.start() + 1  # between the comma and what follows it (",,," holds two)
        quotes += chunk.count(b'"', counted, at)
        counted = at
        if quotes % 2 == 0:  # outside a quoted value: an empty field
            out += (chunk[last:at], b"na")
            last = at
    if not out:
        return chunk
    out.append(chunk[last:])
    return b"".join(out)


def copy_statement(table: str, columns: tuple[str, ...]) -> sql.Composed:
    """Return the typed COPY of the 53 ACRA columns into ``table``."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    return sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL 'na', FORCE_NULL ({}))").format(
        sql.Identifier(table), cols, cols
    )


def copy_parallel(
    conninfo: str,
    table: str,
    columns: tuple[str, ...],
    path: Path,
    *,
    workers: int,
    on_chunk: Callable[[int, int], None] | None = None,
) -> int:
    """COPY the file into ``table`` over ``workers`` connections; return the rows copied.

    Chunk ``i`` goes to stream ``i % workers``. Every stream commits on its own (``table``
    is the caller's scratch table). The first
    failure stops every stream and is raised: :class:`NotFastPath` for data the strict
    loader must judge, anything else (a lost connection) as it is. ``on_chunk(bytes,
    records)`` is called after each chunk is sent.
    """
    stmt = copy_statement(table, columns)
    work: list[queue.Queue[bytes | None]] = [queue.Queue(maxsize=2) for _ in range(workers)]
    failed = threading.Event()
    errors: list[BaseException] = []
    rows = [0] * workers
    lock = threading.Lock()

    def stream(k: int) -> None:
        done = False
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
                with cur.copy(stmt) as cp:
                    while (chunk := work[k].get()) is not None:
                        if failed.is_set():
                            raise NotFastPath("another stream failed")
                        cp.write(check_chunk(chunk))
                        if on_chunk is not None:
                            with lock:
                                on_chunk(len(chunk), chunk.count(b"\n"))
                    done = True
                rows[k] = max(cur.rowcount, 0)
        except psycopg.errors.DataError as exc:  # impossible date, column count, quoting
            errors.append(NotFastPath(str(exc)))
            failed.set()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)
            failed.set()
        finally:
            while not done and work[k].get() is not None:  # drain: the reader never blocks
                pass

    threads = [threading.Thread(target=stream, args=(k,), daemon=True) for k in range(workers)]
    for t in threads:
        t.start()
    try:
        for i, chunk in enumerate(chunks(path)):
            while not failed.is_set():
                try:
                    work[i % workers].put(chunk, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if failed.is_set():
                break
    finally:
        for w in work:
            w.put(None)
        for t in threads:
            t.join()
    if errors:
        first = next((e for e in errors if not isinstance(e, NotFastPath)), errors[0])
        raise first
    return sum(rows)

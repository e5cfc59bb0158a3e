"""Typed, validated, parallel COPY of an ACRA file into a load table.

The file is cut into chunks at record boundaries (a newline outside quotes), and
``workers`` threads each stream chunks into the load table over their own connection
with a typed ``COPY ... (FORMAT csv, NULL 'na', FORCE_NULL (...))``: PostgreSQL converts
the ISO dates and integers itself, so every row is written once.

PostgreSQL's date and integer input is more lenient than the loader (``2019-2-3``,
``20190203``, ``+3`` all convert), so each chunk is first matched against
:data:`CHUNK_RE`, which accepts only what the strict loader in :mod:`db.acra` loads
identically: canonical ``YYYY-MM-DD`` dates of years 1000-2999, 5-digit SSIC codes,
1-9 digit officer counts, an upper-case trimmed UEN, a non-blank entity name; any other
field of the first 28 as CSV allows. Where the match stops, the record is matched
against :data:`ROW_RE`, which also takes 1-4 digit codes (ACRA's files drop leading
zeros): their zeros are put back in the chunk, so the rows COPY writes already hold
5-digit codes and staging's CHECK constraints can sit on the load table during COPY
(no padding UPDATE, no validating scan). Anything else (or a COPY error: an impossible
date, a wrong column count, bad quoting or encoding) raises :class:`NotFastPath`, and the
caller loads the file the strict way, which either loads it or names the file, line and
column of the first bad value. A missing value is ``na`` (quoted or not) or an empty
unquoted field, as in the strict loader: empty unquoted fields are rewritten to ``na``
before COPY.
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
_UEN = rb"[0-9A-Z]+"
# Not blank ('na' passes here and fails staging's NOT NULL once COPY reads it as NULL).
_NAME = rb'(?:[^,"\n]*[^ ,"\n][^,"\n]*|"(?:[^"]|"")*[^ "](?:[^"]|"")*")'
# A record the COPY takes as it is: fields 1-28 of the 53 (uen .. no_of_officers) as the
# strict loader accepts them, 5-digit SSIC codes, no empty field, then the other fields.
_FIELD = rb'(?:[^,"\r\n]|' + _QUOTED + rb")+"
_DATE = rb"(?:na|[12][0-9]{3}-[0-9]{2}-[0-9]{2})"
_CODE = rb"(?:na|[0-9]{5})"
_INT = rb"(?:na|[0-9]{1,9})"
_RECORD = (
    rb",".join(
        [_UEN, _FIELD, _NAME, *[_FIELD] * 5, _DATE, _DATE, *[_FIELD] * 9, _DATE, _DATE, _CODE]
        + [_FIELD, _FIELD, _CODE, _FIELD, _FIELD, _INT]
    )
    + rb"(?:,"
    + _FIELD
    + rb")*\r?\n"
)
# A record to fix first: also empty fields (rewritten to 'na') and 1-4 digit SSIC codes
# (captured: they get their leading zeros back). COPY checks the column count.
_ANY = rb'[^,"\n]*(?:' + _QUOTED + rb'[^,"\n]*)*'
_DATE_OR_EMPTY = rb"(?:" + _DATE + rb"|)"
_SHORT_CODE = rb"(?:na|([0-9]{1,5})|)"
_TAIL = rb'[^"\n]*(?:' + _QUOTED + rb'[^"\n]*)*'
_FIXABLE = (
    rb",".join(
        [_UEN, _ANY, _NAME, *[_ANY] * 5, *[_DATE_OR_EMPTY] * 2, *[_ANY] * 9]
        + [*[_DATE_OR_EMPTY] * 2, _SHORT_CODE, _ANY, _ANY, _SHORT_CODE, _ANY, _ANY]
        + [rb"(?:" + _INT + rb"|)"]
    )
    + rb"(?:,"
    + _TAIL
    + rb")?\n"
)
# RE2 (a DFA, linear time, releases the GIL) runs these about 3x faster than ``re``.
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20
CHUNK_RE = re2.compile(rb"(?:" + _RECORD + rb")*", _OPTIONS)
ROW_RE = re2.compile(_FIXABLE, _OPTIONS)


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
    """Return the chunk ready for COPY (short codes padded, empty fields as ``na``); raise
    NotFastPath.

    :data:`CHUNK_RE` runs over the records COPY takes as they are and stops at the first
    other one; that record is matched against :data:`ROW_RE` and fixed (or the chunk is
    refused), and the run goes on after it.
    """
    out: list[bytes] = []
    last = pos = 0
    while True:
        m = CHUNK_RE.match(chunk, pos)
        pos = m.end() if m else pos
        if pos == len(chunk):
            break
        row = ROW_RE.match(chunk, pos)
        if row is None:
            raise NotFastPath("a record needs the strict loader")
        fixed = bytearray(chunk[pos : row.end()])
        for group in (2, 1):  # right to left: padding moves what follows
            start, end = row.span(group)
            if 0 <= start and end - start < 5:
                fixed[start - pos : start - pos] = b"0" * (5 - end + start)
        out += (chunk[last:pos], _empty_as_na(bytes(fixed)))
        last = pos = row.end()
    if not out:
        return chunk
    out.append(chunk[last:])
    return b"".join(out)


def _empty_as_na(record: bytes) -> bytes:
    """Return the record with each empty field outside quotes written as ``na``."""
    parts = record.split(b'"')  # even parts lie outside quoted values ('""' splits to b"")
    for i in range(0, len(parts), 2):
        part = parts[i]
        if b"," in part:
            part = part.replace(b",,", b",na,").replace(b",,", b",na,")
            parts[i] = part.replace(b",\n", b",na\n").replace(b",\r\n", b",na\r\n")
    return b'"'.join(parts)


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

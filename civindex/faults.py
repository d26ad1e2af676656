"""Fault injection for the crash tests: `CIVINDEX_FAULT=<point>[:kill|:ioerror]`.

The publish path calls `point(name)` between its steps. With the variable unset that is one
dictionary lookup. Set to a point's name, the process kills itself there with SIGKILL (no
`finally`, no `atexit`, exactly what `kill -9` does) or, with `:ioerror`, raises the OSError a
full or failing disk would. The points, in the order a publish reaches them:

archive.write         raw file written to its temporary name, not yet renamed into the archive
archive.done          raw file archived, nothing committed
store.locked          the dataset's publish lock taken, before the overlap check
store.data_written    new Parquet files on disk, no log entry for them yet (appends)
store.before_commit   before a merge, delete or restore writes its files and log entry
store.committed       log entry written: the new version exists
audit.write           audit file opened and locked, the line not yet written
publish.done          publish finished, just before it returns to the caller
"""

from __future__ import annotations

import errno
import os
import signal

ENV = "CIVINDEX_FAULT"
POINTS = (
    "archive.write",
    "archive.done",
    "store.locked",
    "store.data_written",
    "store.before_commit",
    "store.committed",
    "audit.write",
    "publish.done",
)


class InjectedFault(OSError):
    """The I/O error `CIVINDEX_FAULT=<point>:ioerror` raises."""


def point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    where, _, how = spec.partition(":")
    if where != name:
        return
    if how == "ioerror":
        raise InjectedFault(errno.EIO, f"injected I/O error at {name}")
    os.kill(os.getpid(), signal.SIGKILL)

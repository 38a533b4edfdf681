"""The spool: a request's rows are appended to a file of the worker's own before the prediction is
answered, and the file is emptied once they are in the database.

A worker killed outright (an out-of-memory kill, SIGKILL at the end of a platform's grace period)
leaves its file behind, and the next worker to start on the same disk writes its rows. Each worker
holds a lock (flock) on its files while it lives, so a file nobody locks is a dead worker's.

A file, not a wait for the database's commit: measured here, appending a one-record request takes
under a microsecond, where a commit of its own takes 0.1-0.5 ms on SQLite plus 0.1 ms to hand the
row to the writer thread and back, on a 0.56 ms request; and the database's outages would be the
predictions' outages. The file is not fsynced: a killed process loses nothing, a power cut may
lose the last lines. A lost disk, or a new container without a volume, loses what it held.
"""

import fcntl
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

SEGMENT_BYTES = 8 * 1024 * 1024  # a file this large is left to drain, and a new one started


def lock_if_free(path: Path) -> int | None:
    """A descriptor of `path`, locked for this process; None when another process holds it (a
    live worker's) or it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@dataclass(eq=False)
class Segment:
    """One spool file, and how many of its rows are not in the database yet."""

    path: Path
    fd: int
    size: int = 0
    rows: int = 0

    @property
    def worker(self) -> int | None:
        """The pid of the worker that wrote it (its name starts with it)."""
        pid = self.path.name.split("-")[0]
        return int(pid) if pid.isdigit() else None

    def close(self, remove: bool) -> None:
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)  # releases the lock


class Spool:
    """The spool files of one worker; the prediction log calls it under its lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.current: Segment | None = None
        self.draining: set[Segment] = set()  # earlier files, and dead workers', with rows left

    def append(self, line: bytes, rows: int) -> Segment:
        """Write `line` (a request's rows, one JSON line) to the current file; raises OSError."""
        if self.current is None or self.current.size >= SEGMENT_BYTES:
            self.start_segment()
        assert self.current is not None
        written = os.write(self.current.fd, line)
        if written != len(line):  # a full disk: this file ends in a torn line, so it ends here
            self.retire(self.current)
            self.current = None
            raise OSError(f"only {written} of {len(line)} bytes written to the spool")
        self.current.size += written
        self.current.rows += rows
        return self.current

    def start_segment(self) -> None:
        """A new file, locked under a name no other worker reads before it is renamed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(6)}"
        making = self.folder / f"{name}.tmp"
        fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = making.rename(self.folder / f"{name}.spool")
        except OSError:
            os.close(fd)
            making.unlink(missing_ok=True)
            raise
        if self.current is not None:
            self.retire(self.current)
        self.current = Segment(path, fd)

    def retire(self, segment: Segment) -> None:
        if segment.rows:
            self.draining.add(segment)
        else:
            segment.close(remove=True)

    def settled(self, segment: Segment, rows: int) -> None:
        """`rows` of `segment` are in the database, or refused by it: a file with none left is
        emptied (the current one) or removed."""
        segment.rows -= rows
        if segment.rows:
            return
        try:
            if segment is self.current:
                os.ftruncate(segment.fd, 0)  # appends (O_APPEND) start again at 0
                segment.size = 0
            elif segment in self.draining:
                self.draining.discard(segment)
                segment.close(remove=True)
        except OSError as error:  # the file stays: its rows are written again, harmlessly
            logger.warning("Prediction log: {} not emptied: {}", segment.path, error)

    def orphans(self) -> Iterator[tuple[Segment, list[bytes]]]:
        """The files of workers that are gone, each locked for this worker now, with its lines.
        The caller counts their rows (settled(segment, 0) removes a file with none)."""
        for path in self.folder.glob("*.tmp"):  # a file never renamed holds no row
            self.remove_if_unlocked(path)
        for path in sorted(self.folder.glob("*.spool")):
            fd = lock_if_free(path)
            if fd is None:
                continue
            if not path.exists():  # finished by the worker that held it a moment ago
                os.close(fd)
                continue
            segment = Segment(path, fd)
            self.draining.add(segment)
            yield segment, [line for line in path.read_bytes().split(b"\n") if line]

    @staticmethod
    def remove_if_unlocked(path: Path) -> None:
        if (fd := lock_if_free(path)) is not None:
            path.unlink(missing_ok=True)
            os.close(fd)

    def close(self) -> int:
        """Release every file: emptied ones are removed, the others stay for the next start.
        The rows left behind."""
        left = 0
        segments = [*self.draining, *([self.current] if self.current else [])]
        for segment in segments:
            left += segment.rows
            segment.close(remove=not segment.rows)
        self.current, self.draining = None, set()
        return left

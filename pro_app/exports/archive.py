"""Deliver export files: as a zip streamed as it is built, or into a folder.

Both hash every file while its bytes pass (SHA-256), so the digest recorded
in the audit trail is that of the bytes delivered. Files written to disk
appear all together or not at all (``write_all``). Pure: no Flask, no DB.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pro_app.exports.layout import ExportFile

# Hand the zip on to the client in pieces of about this size.
FLUSH_AT = 64 * 1024
# Past this guess of a member's size, write it as Zip64 from the start: a
# streamed member's size is only known at its end.
ZIP64_GUESS = 2**31


class Delivery:
    """What was delivered: each file's SHA-256 and data rows."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.rows: dict[str, int] = {}
        # The file being written when a write failed (``write_all``).
        self.failed: str | None = None

    def hashed(self, out: ExportFile) -> Iterator[bytes]:
        """Pass a file's chunks through, recording its digest at the end."""
        digest = hashlib.sha256()
        for chunk in out.chunks():
            digest.update(chunk)
            yield chunk
        self.files[out.name] = digest.hexdigest()
        self.rows[out.name] = out.rows


class _Sink:
    """A write-only, unseekable file for ``zipfile``: bytes wait to be taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.pending = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.pending += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.pending = 0
        return data


class ZipStream(Delivery):
    """A zip of export files, produced chunk by chunk; hashed as it goes.

    ``sha256`` and ``size`` describe the whole zip once iteration has ended.
    """

    def __init__(
        self,
        files: Iterable[ExportFile],
        *,
        expected_bytes: int = 0,
        compresslevel: int = 1,
    ) -> None:
        super().__init__()
        self._files = files
        self._zip64 = expected_bytes > ZIP64_GUESS
        self._level = compresslevel
        self._digest = hashlib.sha256()
        self.size = 0
        self.sha256: str | None = None

    def _emit(self, data: bytes) -> bytes:
        self._digest.update(data)
        self.size += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        sink = _Sink()
        # A sink without tell()/seek() makes zipfile write data descriptors,
        # so nothing already sent needs rewriting.
        with zipfile.ZipFile(
            sink, "w", zipfile.ZIP_DEFLATED, compresslevel=self._level
        ) as archive:
            for out in self._files:
                with archive.open(out.name, "w", force_zip64=self._zip64) as member:
                    for chunk in self.hashed(out):
                        member.write(chunk)
                        if sink.pending >= FLUSH_AT:
                            yield self._emit(sink.take())
        yield self._emit(sink.take())
        self.sha256 = self._digest.hexdigest()


def write_all(
    files: Sequence[ExportFile],
    paths: Sequence[Path],
    delivery: Delivery | None = None,
) -> Delivery:
    """Write every file of an export to its path, all of them or none.

    Each file is first written into a hidden folder made beside its target
    (the same file system, so the final move is a rename); only once every
    file is complete are they moved into place. If any fails (a value the
    format cannot hold, a full disk...), every file written so far is
    removed, nothing is moved, ``failed`` names the file and the error is
    raised again.
    """
    delivery = delivery if delivery is not None else Delivery()
    staging: dict[Path, Path] = {}
    staged: list[tuple[Path, Path]] = []
    try:
        for out, path in zip(files, paths, strict=True):
            parent = path.parent
            if parent not in staging:
                staging[parent] = Path(tempfile.mkdtemp(prefix=".export-", dir=parent))
            temporary = staging[parent] / f"{len(staged)}-{path.name}"
            delivery.failed = out.name
            with open(temporary, "wb") as handle:
                for chunk in delivery.hashed(out):
                    handle.write(chunk)
            staged.append((temporary, path))
        delivery.failed = None
        for temporary, path in staged:
            os.replace(temporary, path)
    finally:
        for folder in staging.values():
            shutil.rmtree(folder, ignore_errors=True)
    return delivery

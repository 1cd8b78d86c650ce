"""Both SPSS and Stata writers stream: rows reach the spool file while they are
still being produced, and the writer's memory does not grow with the rows."""

from __future__ import annotations

import os
import tempfile
import tracemalloc

import pytest

from pro_app.exports.dta import dta_chunks
from pro_app.exports.sav import sav_chunks
from tests.unit.stats_cases import VARIABLES, WHEN

ROWS = 5000
# (writer, how its header starts, length of the data section for ROWS rows of
# subject "LK-nnnn" (7 bytes), comment "" and 5 doubles)
WRITERS = {
    # .sav stores each string in 8-byte units: 8 + 8 bytes, then 5 doubles.
    "sav": (sav_chunks, b"$FL2", len, ROWS * (8 + 8 + 5 * 8)),
    # .dta: 7 + 1 bytes of strings and 5 doubles, then the closing sections.
    "dta": (
        dta_chunks,
        b"<stata_dta><header><release>118</release>",
        lambda data: data.index(b"</data>"),
        ROWS * (7 + 1 + 5 * 8),
    ),
}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_rows_are_spooled_as_they_arrive(fmt):
    """The data reach the spool file while the rows are still being produced:
    the writer keeps no rows of its own."""
    write, header_start, data_length, expected_length = WRITERS[fmt]
    seen_on_disk = []
    with tempfile.TemporaryFile() as spool:

        def rows():
            for n in range(ROWS):
                if n % 1000 == 0:
                    spool.flush()
                    seen_on_disk.append(os.fstat(spool.fileno()).st_size)
                yield [f"LK-{n:04d}", WHEN, n % 4 + 1, None, n / 3, "", n % 2]

        chunks = write(VARIABLES, rows(), WHEN, spool=spool)
        header = next(chunks)  # every row has been spooled by now
        assert seen_on_disk[0] == 0
        assert all(b > a for a, b in zip(seen_on_disk, seen_on_disk[1:], strict=False))
        # Each spooled row holds at least its 5 doubles.
        assert seen_on_disk[-1] >= 4000 * 5 * 8
        data = b"".join(chunks)
    assert header.startswith(header_start)
    assert data_length(data) == expected_length


def _peak(write, rows: int) -> int:
    def produce():
        for n in range(rows):
            yield [f"LK-{n:06d}", WHEN, n % 4 + 1, None, n / 3, "ok", n % 2]

    tracemalloc.start()
    try:
        for _chunk in write(VARIABLES, produce(), WHEN):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_memory_does_not_grow_with_rows(fmt):
    write = WRITERS[fmt][0]
    small, large = _peak(write, 1_000), _peak(write, 100_000)
    assert large < 2 * small, (small, large)

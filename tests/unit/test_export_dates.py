"""A ``date`` column (``collected_on``) in SPSS and Stata files: a real date
variable (SPSS DATE11, Stata %td) that pyreadstat reads back as the same day;
a value that is not a plain date is refused, never truncated."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyreadstat
import pytest

from pro_app.exports.dta import DtaError, dta_chunks
from pro_app.exports.layout import Variable
from pro_app.exports.sav import SavError, sav_chunks

WHEN = datetime(2026, 12, 3, 16, 40, tzinfo=UTC).replace(tzinfo=None)
VARIABLES = (
    Variable("subject", "Subject identifier", "string"),
    Variable("collected_on", "Date answered", "date"),
)
DAYS = [date(2026, 11, 25), date(1582, 10, 15), date(1960, 1, 1), None]
WRITERS = {
    "sav": (sav_chunks, pyreadstat.read_sav, "DATE11", SavError),
    "dta": (dta_chunks, pyreadstat.read_dta, "%td", DtaError),
}


@pytest.mark.parametrize("suffix", WRITERS)
def test_dates_read_back_as_the_same_day(tmp_path, suffix):
    write, read, kind, _error = WRITERS[suffix]
    rows = [[f"LK-{n}", day] for n, day in enumerate(DAYS)]
    path = tmp_path / f"dates.{suffix}"
    path.write_bytes(b"".join(write(VARIABLES, rows, WHEN, "dates")))
    frame, meta = read(str(path))
    assert meta.original_variable_types["collected_on"] == kind
    assert meta.column_names_to_labels["collected_on"] == "Date answered"
    got = list(frame["collected_on"])
    assert got[:3] == DAYS[:3]
    assert got[3] is None or got[3] != got[3]  # missing (None or NaT/NaN)


@pytest.mark.parametrize("suffix", WRITERS)
@pytest.mark.parametrize("value", [datetime(2026, 11, 25, 9, 30), "2026-11-25", 3])
def test_a_value_that_is_not_a_date_is_refused(suffix, value):
    write, _read, _kind, error = WRITERS[suffix]
    with pytest.raises(error, match="collected_on in row 1 is not a date"):
        b"".join(write(VARIABLES, [["LK-1", value]], WHEN, "dates"))

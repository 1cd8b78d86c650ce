"""Shared cases for the SPSS (.sav) and Stata (.dta) writer tests: the
variables and rows both formats must carry (non-ASCII labels and text, value
labels, missing values of every kind), and a missing-aware comparison."""

from __future__ import annotations

import math
from datetime import datetime

from pro_app.exports.layout import Variable

WHEN = datetime(2026, 11, 24, 21, 40, 41)
HEBREW, ARABIC, CYRILLIC = "שאלה ראשונה", "سؤال أول", "Первый вопрос"
CODES = {1: "Excellent", 2: "Очень хорошо", 3: "טוב", 4: "مقبول"}
VARIABLES = [
    Variable("subject", "Subject identifier", "string"),
    Variable("completed_at_utc", "Completed at (UTC)", "datetime"),
    Variable("rand36_q01", f"RAND-36 1: {HEBREW}", "numeric", CODES),
    Variable("rand36_q02", f"RAND-36 2: {ARABIC}", "numeric", CODES),
    Variable("promis29_anxiety_t", f"PROMIS-29 {CYRILLIC}", "numeric"),
    Variable("comment", "Free text", "string"),
    Variable("corrected", "Any answer corrected", "numeric", {0: "no", 1: "yes"}),
]
# Rows both formats hold; each test file adds a row at its own format's limits.
COMMON_ROWS = [
    ["LK-001", datetime(2025, 3, 10, 9, 30, 15), 1, 4, 52.3, HEBREW, 0],
    ["LK-002", datetime(1999, 12, 31, 23, 59, 59), 2, None, -1e300, ARABIC, 1],
    ["משתתף-3", datetime(2030, 1, 1), 3, 2, math.nan, CYRILLIC, 0],
    ["", None, None, None, 0.0, None, None],
]


def same(got: object, want: object) -> bool:
    """Equal, where None and NaN written must come back as NaN."""
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return isinstance(got, float) and math.isnan(got)
    return got == want

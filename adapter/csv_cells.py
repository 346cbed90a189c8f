"""CSV cells that a spreadsheet would run as a formula, neutralised (OWASP, "CSV Injection").

Every CSV the product writes passes its cells through `neutralise`: a cell that begins with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which makes spreadsheets take
it as text (a licence id `=HYPERLINK(...)` arrives in the ERP's or the admin's spreadsheet as
that text, not as a link). Plain numbers are the exception: `-12.50` stays a number, so negative
amounts still add up. Quoting of separators, quotes and line breaks is the csv module's.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Only what a spreadsheet reads as a plain number; `-1+2`, `-1e3` or `-0x1` are neutralised.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise(cell: Any) -> Any:
    """`cell` safe to open in a spreadsheet; anything but text is returned as it is."""
    formula = isinstance(cell, str) and cell.startswith(FORMULA_STARTS)
    return "'" + cell if formula and not PLAIN_NUMBER.fullmatch(cell) else cell

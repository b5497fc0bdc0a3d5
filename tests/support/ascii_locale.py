"""An ASCII locale for the length of a `with`: what a file read without `encoding=` gets on a node or
CI runner whose LANG is unset. It only bites outside Python's UTF-8 mode, which Python turns on by
itself under the C locale (PEP 540); `./run` sets PYTHONUTF8=0, and the check below fails a test
that would otherwise pass without reading anything as ASCII."""

from __future__ import annotations

import locale
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def ascii_locale() -> Iterator[None]:
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        encoding = locale.getpreferredencoding(False)
        assert encoding.lower().replace("-", "") not in ("utf8", "utf_8"), (
            f"the C locale still reads files as {encoding} (Python's UTF-8 mode): run the tests with PYTHONUTF8=0")
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, before)

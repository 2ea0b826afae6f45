"""CSV files as a bar source: one file per symbol, one file with a symbol column, or zipline's csvdir layout.

Reading
    Files are parsed by polars (multi-threaded, GIL released) with every column read as text, so prices reach
    the catalog as the exact decimal text of the file. Only when a file looks structurally odd (quotes, blank
    lines, rows with the wrong number of fields) is it re-read line by line with the :mod:`csv` module, to
    name the exact line of the problem and to keep line numbers exact.

Columns
    Recognised case-insensitively, ignoring spaces, ``_``, ``-``, ``.`` and ``<>``: ``timestamp``/
    ``datetime``/``ts``, or ``date`` (plus an optional separate ``time`` column), or ``time`` alone;
    ``open``/``o``; ``high``/``h``; ``low``/``l``; ``close``/``c``/``last``; ``volume``/``vol``/``v``.
    Adjusted columns (``Adj Close``...) are never picked silently: map one with
    ``columns={"close": "Adj Close"}`` to use it.

Timestamps
    The format is detected per file: ISO dates, ISO datetimes (``T`` or space, optional fraction, optional
    ``Z``/``+hh:mm`` offset), ``%Y%m%d``, ``%Y/%m/%d``, ``%m/%d/%Y`` (``%d/%m/%Y`` when only that parses),
    ``%d.%m.%Y``, ``%Y.%m.%d`` (each optionally followed by a time), and integer epochs whose unit is taken
    from the magnitude of the largest value (< 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else
    nanoseconds). Naive times are local times in ``timezone`` (default UTC); values with an offset and epochs
    are absolute. Daily (and coarser) bars get the session date at midnight UTC: the date as written for naive
    values, the date in ``timezone`` for absolute ones.

Output
    ``timestamp`` Datetime(ns, UTC), ``symbol``, ``open high low close volume`` as the stripped text of the
    file, ``_source_file`` and ``_source_row`` (1-based line number, header = line 1), sorted by
    (symbol, timestamp).

Modules
    :mod:`.dates` (timestamp formats, detection, UTC), :mod:`.options` (parameter checks, what a read needs),
    :mod:`.layout` (files, symbols, header columns), :mod:`.reading` (bytes to bars), :mod:`.adapter`
    (:class:`CSVAdapter`). Only :class:`CSVAdapter` is public.
"""

from rustybt.data.adapters.csv.adapter import CSVAdapter

__all__ = ["CSVAdapter"]

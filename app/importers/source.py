"""Reading an import file: bytes → text → header + rows, with the physical line number of every row.

Platform exports arrive as UTF-8 (with or without a BOM, from Excel or the platform itself) or as
GB18030 (Taobao and older Excel on a Chinese Windows). We decode the whole file strictly with each
candidate encoding in turn, never with `errors="replace"`: a mojibake address on a label is worse than
a refused file.

Header names are normalised before they are matched against a profile's aliases (NFKC folds full-width
parentheses and spaces, which Pinduoduo mixes with half-width ones; then strip, collapse spaces and
casefold), while error messages quote the header exactly as it stands in the file.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from app.clock import iso
from app.errors import InputError, os_problem
from app.i18n import N_, Phrase, Words

DEFAULT_ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030")

_SPACES = re.compile(r"\s+")
# Taobao and some Excel-made files guard long numbers against scientific notation as ="123456789".
_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.DOTALL)


EMPTY_FILE = N_("the file is empty")
# A workbook is not text in any encoding: naming the bytes that failed to decode would send the person
# after the wrong fix ("save it again as UTF-8"). Zip is how .xlsx (and WPS's .et) are stored; the OLE
# compound file is the older .xls.
_WORKBOOKS = ((b"PK\x03\x04", "xlsx"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"))


class ImportFileError(InputError):
    """A file cannot be imported; `str()` is one line naming the file, the row and the column."""

    def __init__(self, path: Path | str, row: int, column: str | None, message: str | Words, /,
                 **values: Any) -> None:
        """`message` (with `values`) says what is wrong at the place; a string no catalog holds (a
        parser's own words) is shown as it is."""
        self.path = Path(path)
        self.row = row
        self.column = column
        self.problem = message if isinstance(message, Words) else Phrase(message, values)
        self.message = self.problem.plain()
        where: str | Phrase = Phrase(N_("{file} row {row}"), {"file": self.path.name, "row": row}) if row \
            else self.path.name  # row 0: the file as a whole
        if column is not None:
            where = Phrase(N_("{where}, column {column!r}"), {"where": where, "column": column})
        super().__init__(N_("{where}: {problem}"), where=where, problem=self.problem)


def normalize_header(name: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip().casefold()


@functools.lru_cache(maxsize=1024)
def normalize_value(text: str) -> str:
    """The form of a cell used to look up status maps: same folding as headers (few distinct values)."""
    return normalize_header(text)


def clean_cell(text: str) -> str:
    text = text.strip()
    if text.startswith('="'):
        match = _EXCEL_TEXT.match(text)
        return match.group(1).strip() if match else text
    return text


@dataclass(frozen=True)
class Header:
    path: Path
    header_row: int  # physical line of the header: 1 unless blank lines precede it
    header: tuple[str, ...]  # as written in the file (BOM removed)

    def column_index(self) -> dict[str, int]:
        """Normalised header → position; on a repeated header the first one wins."""
        index: dict[str, int] = {}
        for i, name in enumerate(self.header):
            index.setdefault(normalize_header(name), i)
        return index


Row = tuple[int, tuple[str, ...]]  # (physical line number, cells)


@dataclass(frozen=True)
class Table(Header):
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Sniffed:
    """What one pass over the bytes tells before any row is parsed."""

    encoding: str  # the Python codec that decodes the whole file
    sha256: str
    lines: int  # newline count: an upper bound of the data rows, for progress


_BLOCK = 1 << 20


def _codec(encoding: str) -> str:
    # utf-8-sig accepts plain UTF-8 too and drops the BOM that Excel writes.
    return "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _refuse_workbook(path: Path, head: bytes) -> None:
    for magic, kind in _WORKBOOKS:
        if head.startswith(magic):
            raise ImportFileError(path, 0, None, N_("this is a spreadsheet workbook ({kind}), not a CSV file: open it "
                                                    "in Excel or WPS, save it as \"CSV UTF-8\" and import that file"),
                                  kind=kind)


def sniff(path: Path | str, encodings: tuple[str, ...] = DEFAULT_ENCODINGS) -> Sniffed:
    """The first encoding that decodes the whole file strictly, found block by block (memory stays
    flat), hashing and counting lines on the way. A refused file names the line of the bad bytes."""
    path = Path(path)
    furthest = (0, 1, b"")  # byte offset, line, the bytes there
    for encoding in encodings:
        decoder = codecs.getincrementaldecoder(_codec(encoding))()
        digest, lines, offset, blank = hashlib.sha256(), 0, 0, True
        try:
            with path.open("rb") as f:
                for block in iter(lambda: f.read(_BLOCK), b""):
                    if not offset:
                        _refuse_workbook(path, block)
                    digest.update(block)
                    try:
                        blank = blank and not decoder.decode(block).strip()
                    except UnicodeDecodeError as exc:
                        if offset + exc.start >= furthest[0]:
                            furthest = (offset + exc.start, lines + block.count(b"\n", 0, exc.start) + 1,
                                        block[exc.start:exc.start + 4])
                        raise
                    lines += block.count(b"\n")
                    offset += len(block)
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:  # the file ends inside a character
                    if offset >= furthest[0]:
                        furthest = (offset, lines + 1, b"<end of file>")
                    raise
        except OSError as exc:
            raise ImportFileError(path, 0, None, N_("cannot read the file: {problem}"),
                                  problem=os_problem(exc)) from exc
        except UnicodeDecodeError:
            continue
        if blank:
            raise ImportFileError(path, 1, None, EMPTY_FILE)
        return Sniffed(_codec(encoding), digest.hexdigest(), lines)
    _, line, bad = furthest
    raise ImportFileError(
        path, line, None,
        N_("cannot decode bytes {bad!r}: the file is none of the encodings tried ({encodings}); "
           "save it again as UTF-8"),
        bad=bad, encodings=", ".join(encodings),
    )


class Rows:
    """The data rows of an open file, read as iteration advances; `close()` (or `with`) releases the
    file whether or not the rows were read to the end."""

    def __init__(self, path: Path, f: TextIO, reader: Any, next_line: int, header: Header) -> None:
        self.path, self.f, self.reader, self.next_line, self.header = path, f, reader, next_line, header

    def read(self) -> tuple[int, list[str]] | None:
        """The next row with any content, and its physical line."""
        try:
            for cells in self.reader:
                # A quoted cell may span lines (Shopify notes do): a row starts where the last one ended.
                line, self.next_line = self.next_line, self.reader.line_num + 1
                # Blank rows are skipped; the first cell (an order id) almost always settles it at once.
                if any(cells) and (cells[0].strip() or "".join(cells).strip()):
                    return line, cells
        except csv.Error as exc:
            raise ImportFileError(self.path, self.next_line, None, N_("not a readable CSV row: {problem}"),
                                  problem=exc) from exc
        return None

    def __iter__(self) -> Iterator[Row]:
        width, found = len(self.header.header), False
        while (row := self.read()) is not None:
            line, cells = row
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                raise ImportFileError(self.path, line, None,
                                      N_("{cells} cells but the header has {width}: an unquoted comma?"),
                                      cells=len(cells), width=width)
            found = True
            yield line, tuple(cells)
        if not found:
            raise ImportFileError(self.path, self.header.header_row + 1, None, N_("the file has a header but no rows"))

    def close(self) -> None:
        self.f.close()

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stream_table(path: Path | str, encoding: str) -> tuple[Header, Rows]:
    """The header, and the data rows read from disk as they are iterated (a file of any size in
    constant memory). `encoding` comes from `sniff`, so decoding cannot fail midway."""
    path = Path(path)
    f = path.open("r", encoding=encoding, newline="")
    try:
        rows = Rows(path, f, csv.reader(f), 1, Header(path, 0, ()))
        first = rows.read()
        if first is None:
            raise ImportFileError(path, 1, None, EMPTY_FILE)
    except BaseException:
        f.close()
        raise
    rows.header = Header(path, first[0], tuple(cell.strip().removeprefix("\ufeff") for cell in first[1]))
    return rows.header, rows


def read_table(path: Path | str, encodings: tuple[str, ...] = DEFAULT_ENCODINGS) -> Table:
    """A whole (small) file in memory: a product list, a Taobao order report to join lines onto."""
    header, rows = stream_table(path, sniff(path, encodings).encoding)
    with rows:
        return Table(header.path, header.header_row, header.header, tuple(rows))


# ---- Cell values. Each converter takes cleaned, non-blank text and raises ValueError with the words
# that follow "column 'X': " in the error.

_SCIENTIFIC = re.compile(r"^\d(\.\d+)?e\+\d+$", re.IGNORECASE)
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")
_PLAIN_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")
_MOBILE = re.compile(r"^(?:\+?86|0086)-?(1\d{10})$")
_PHONE_NOISE = re.compile(r"[\s']")


# A cell that cannot be read raises ValueError(Phrase): the file's error words it (`words_of`).
NOT_WHOLE = N_("not a whole number: {text!r}")
# Beyond any quantity, weight in grams or amount in fen a shop exports, and far inside SQLite's
# integers (±9.2×10^18), which a larger one would overflow when stored.
LARGEST = 10**12


def _bounded(value: int, text: str) -> int:
    if value > LARGEST:
        raise ValueError(Phrase(N_("too large: {text!r}"), {"text": text}))
    return value


def to_code(text: str) -> str:
    """Ids, skus, zips: Excel's leading apostrophe is not part of the value."""
    text = text.lstrip("'").strip()
    if _SCIENTIFIC.match(text):
        raise ValueError(Phrase(N_("{text!r} is a number Excel rewrote in scientific notation; export it as text"),
                                {"text": text}))
    return text


def to_phone(text: str) -> str:
    """Stored whole (masking happens on display): only the apostrophe, spaces and +86 go."""
    text = _PHONE_NOISE.sub("", text)
    match = _MOBILE.match(text)
    return match.group(1) if match else text


def to_decimal(text: str) -> Decimal:
    """A plain decimal: optional currency sign, thousands commas only in their proper places."""
    raw = text
    text = text.strip().lstrip("¥￥$").strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    # Decimal() alone would also take "NaN", "1e5" and "1_000".
    if not _PLAIN_NUMBER.match(text):
        raise ValueError(Phrase(N_("not a number: {text!r}"), {"text": raw}))
    return Decimal(text)


def to_count(text: str) -> int:
    value = to_decimal(text)
    if value != value.to_integral_value():
        raise ValueError(Phrase(NOT_WHOLE, {"text": text}))
    if value < 1:
        raise ValueError(Phrase(N_("must be at least 1, not {text!r}"), {"text": text}))
    return _bounded(int(value), text)


def to_whole(text: str) -> int:
    """A non-negative integer (grams, stock)."""
    value = to_decimal(text)
    if value != value.to_integral_value():
        raise ValueError(Phrase(NOT_WHOLE, {"text": text}))
    if value < 0:
        raise ValueError(Phrase(N_("must not be negative: {text!r}"), {"text": text}))
    return _bounded(int(value), text)


def to_fen(text: str, unit: str) -> int:
    """Money as integer fen, by Decimal arithmetic only (0.1 + 0.2 must stay 30 fen)."""
    value = to_decimal(text)
    if value < 0:
        raise ValueError(Phrase(N_("negative amount: {text!r}"), {"text": text}))
    fen = value * 100 if unit == "yuan" else value
    if fen != fen.to_integral_value():
        too_fine = N_("more than two decimals: {text!r}") if unit == "yuan" else N_("more than whole fen: {text!r}")
        raise ValueError(Phrase(too_fine, {"text": text}))
    return _bounded(int(fen), text)


# strptime formats whose texts `datetime.fromisoformat` reads too, once a space before the offset is
# dropped: 40 times faster, which matters at two times per order in a file of 10^6 lines. The shape
# check keeps the format's strictness (strptime also takes "2026-2-3 9:07"; those go the slow way).
_ISO_SHAPED = {
    "%Y-%m-%d %H:%M:%S": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"),
    "%Y-%m-%d %H:%M:%S %z": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"),
    "%Y-%m-%d %H:%M": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d"),
    "%Y-%m-%d %H:%M %z": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d [+-]\d{4}"),
}


def _parse_time(text: str, fmt: str) -> datetime:
    if fmt == "iso":
        return datetime.fromisoformat(text)
    shape = _ISO_SHAPED.get(fmt)
    if shape is not None and shape.fullmatch(text):
        return datetime.fromisoformat(text.replace(" +", "+").replace(" -", "-"))
    return datetime.strptime(text, fmt)


def to_utc(text: str, formats: tuple[str, ...], zone: tzinfo) -> str:
    """A time in any of `formats` ("iso" = ISO 8601); naive times are in `zone`. Returns store form."""
    for fmt in formats:
        try:
            when = _parse_time(text, fmt)
        except ValueError:
            continue
        return iso(when if when.tzinfo else when.replace(tzinfo=zone))
    raise ValueError(Phrase(N_("not a date: {text!r}"), {"text": text}))


_TRUE = frozenset({"true", "yes", "y", "1", "是"})
_FALSE = frozenset({"false", "no", "n", "0", "否"})


def to_flag(text: str) -> bool:
    folded = normalize_value(text)
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError(Phrase(N_("not true or false: {text!r}"), {"text": text}))

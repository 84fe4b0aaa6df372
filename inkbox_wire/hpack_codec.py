"""HPACK coders for the tunnel's HTTP/2 links (RFC 7541): one decoder, two encoders.

``hpack``'s own coders log every field they code at DEBUG (API keys and
third-party ``authorization`` headers included) and do much more work per
field than a tunnel can afford. These own their tables outright (the fixed
ones in :mod:`inkbox_wire.hpack_tables`) and raise ``hpack``'s public error
types, so results and errors are those of ``hpack.Decoder`` and
``hpack.Encoder(huffman=False)``; nothing is logged.

:class:`Decoder` walks a block once, inline. A header list over
``max_header_list_size`` is still decoded to its end, so the dynamic table
stays in step with the peer's (RFC 9113 §10.5.1), before
:class:`HeaderListTooLarge` is raised with the leading fields that fitted.

:class:`TablelessEncoder` (the agent's) never uses the dynamic table: a
field's bytes are computed once and reused on any connection, and no secret
ever sits in the peer's compression state. :class:`IndexingEncoder` (the
edge's) indexes as ``hpack.Encoder`` does and writes the same bytes, with
plain (not Huffman-coded) literals.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from hpack import (
    HeaderTuple,
    HPACKDecodingError,
    InvalidTableIndex,
    InvalidTableSizeError,
    NeverIndexedHeaderTuple,
    OversizedHeaderListError,
)

from inkbox_wire.hpack_tables import STATIC_TABLE
from inkbox_wire.huffman import decode_huffman

__all__ = [
    "DEFAULT_MAX_HEADER_LIST",
    "DEFAULT_TABLE_SIZE",
    "Decoder",
    "DynamicTable",
    "HeaderListTooLarge",
    "IndexingEncoder",
    "TablelessEncoder",
]

DEFAULT_TABLE_SIZE = 4096
"""SETTINGS_HEADER_TABLE_SIZE until a peer says otherwise."""
DEFAULT_MAX_HEADER_LIST = 65536
"""The header list limit ``hpack.Decoder`` applies by default, and what both engines announce."""

_new = tuple.__new__
_STATIC: list[HeaderTuple] = [
    _new(HeaderTuple, entry) for entry in (STATIC_TABLE[0], *STATIC_TABLE)
]
"""The static table by HPACK index (1-based; entry 0 is never returned)."""
_STATIC_LENGTH = len(STATIC_TABLE)
_DYNAMIC_OFFSET = _STATIC_LENGTH + 1
_ENTRY_OVERHEAD = 32  # RFC 7541 §4.1
_MAX_CONTINUATION = 5  # continuation octets of one integer (as many as hpack accepts)
_INDEXED = [bytes((0x80 | index,)) for index in range(0x7F)]
_LENGTHS = [bytes((length,)) for length in range(0x7F)]


def _static_index() -> dict[bytes, tuple[int, dict[bytes, int]]]:
    """Each static name: its first index and the index of each of its values."""
    index: dict[bytes, tuple[int, dict[bytes, int]]] = {}
    for number, (name, value) in enumerate(STATIC_TABLE, start=1):
        index.setdefault(name, (number, {}))[1].setdefault(value, number)
    return index


_STATIC_INDEX = _static_index()


class HeaderListTooLarge(OversizedHeaderListError):
    """A header list over the limit, raised only once the whole block was decoded.

    The dynamic table is then in step with the peer's, so the connection can
    go on and only the stream that carried the block fails. ``fields`` holds
    the leading fields that fitted within the limit.
    """

    def __init__(self, limit: int, fields: list[HeaderTuple]) -> None:
        super().__init__(f"A header list larger than {limit} has been received")
        self.fields = fields


class DynamicTable:
    """The dynamic table: newest entry first, the oldest evicted past ``maxsize`` octets."""

    __slots__ = ("entries", "maxsize", "size")

    def __init__(self, maxsize: int = DEFAULT_TABLE_SIZE) -> None:
        self.entries: deque[tuple[bytes, bytes]] = deque()
        self.size = 0
        """The octets the entries take (each its name, value and 32)."""
        self.maxsize = maxsize

    def add(self, entry: tuple[bytes, bytes]) -> None:
        """Insert ``entry`` (an entry larger than the table empties it)."""
        entries = self.entries
        size = _ENTRY_OVERHEAD + len(entry[0]) + len(entry[1])
        if size > self.maxsize:
            entries.clear()
            self.size = 0
            return
        entries.appendleft(entry)
        self.size += size
        self._shrink()

    def resize(self, maxsize: int) -> None:
        """A new maximum size, evicting what no longer fits."""
        old, self.maxsize = self.maxsize, maxsize
        if maxsize <= 0:
            self.entries.clear()
            self.size = 0
        elif old > maxsize:
            self._shrink()

    def _shrink(self) -> None:
        entries = self.entries
        size = self.size
        while size > self.maxsize:
            name, value = entries.pop()
            size -= _ENTRY_OVERHEAD + len(name) + len(value)
        self.size = size


def _integer(data: bytes, position: int, number: int) -> tuple[int, int]:
    """Finish an HPACK integer whose prefix bits were all ones (``number``): its value and
    the position after it (RFC 7541 §5.1, at most five continuation octets)."""
    start = position
    shift = 0
    end = len(data)
    while True:
        if position >= end:
            raise HPACKDecodingError("Unable to decode HPACK integer representation")
        octet = data[position]
        position += 1
        number += (octet & 0x7F) << shift
        if octet < 0x80:
            return number, position
        shift += 7
        if position - start >= _MAX_CONTINUATION:
            raise HPACKDecodingError("Variable integer representation is too long")


def _string(data: bytes, position: int) -> tuple[bytes, int]:
    """A length-prefixed, possibly Huffman-coded string literal and the position after it."""
    if position >= len(data):
        raise HPACKDecodingError("Unable to decode HPACK integer representation")
    first = data[position]
    length = first & 0x7F
    position += 1
    if length == 0x7F:
        length, position = _integer(data, position, length)
    end = position + length
    text = data[position:end]
    if len(text) != length:
        raise HPACKDecodingError("Truncated header block")
    if first & 0x80:
        text = decode_huffman(text)
    return text, end


def _dynamic(entries: deque[tuple[bytes, bytes]], index: int) -> HeaderTuple:
    """Dynamic table entry ``index`` (the decoder stores ``HeaderTuple`` entries only)."""
    position = index - _DYNAMIC_OFFSET
    if 0 <= position < len(entries):
        entry: Any = entries[position]
        return entry  # type: ignore[no-any-return]
    raise InvalidTableIndex(f"Invalid table index {index}")


class Decoder:
    """Decodes the header blocks of one connection direction; results as ``hpack.Decoder``'s."""

    def __init__(self, max_header_list_size: int = DEFAULT_MAX_HEADER_LIST) -> None:
        self.table = DynamicTable()
        self.max_header_list_size = max_header_list_size
        """The largest header list (RFC 9113 §6.5.2 size) decoded without an error."""
        self.max_allowed_table_size = DEFAULT_TABLE_SIZE
        """The SETTINGS_HEADER_TABLE_SIZE this side announced: the peer's table limit."""

    @property
    def header_table_size(self) -> int:
        """The dynamic table's current maximum size."""
        return self.table.maxsize

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self.table.resize(value)

    def decode(self, data: bytes, raw: bool = False) -> list[HeaderTuple]:
        """Decode one header block; ``raw=False`` gives UTF-8 text as ``hpack`` does."""
        if not raw:
            try:
                return [
                    _new(type(h), (h[0].decode("utf-8"), h[1].decode("utf-8")))
                    for h in self.decode(data, raw=True)
                ]
            except UnicodeDecodeError as exc:
                raise HPACKDecodingError("Unable to decode headers as UTF-8") from exc
        if type(data) is not bytes:
            data = bytes(data)
        table = self.table
        entries = table.entries
        static = _STATIC
        limit = self.max_header_list_size
        headers: list[HeaderTuple] = []
        inflated = 0
        position = 0
        end = len(data)
        while position < end:
            octet = data[position]
            position += 1
            header: HeaderTuple
            if octet & 0x80:  # indexed field
                index = octet & 0x7F
                if index == 0x7F:
                    index, position = _integer(data, position, index)
                header = static[index] if 0 < index <= _STATIC_LENGTH else _dynamic(entries, index)
            elif octet & 0x40 or not octet & 0x20:  # literal field
                if octet & 0x40:  # with incremental indexing
                    mask = 0x3F
                    kind: type[HeaderTuple] = HeaderTuple
                elif octet & 0x10:  # never indexed
                    mask = 0x0F
                    kind = NeverIndexedHeaderTuple
                else:  # without indexing
                    mask = 0x0F
                    kind = HeaderTuple
                index = octet & mask
                if index:
                    if index == mask:
                        index, position = _integer(data, position, index)
                    entry = (
                        static[index] if 0 < index <= _STATIC_LENGTH else _dynamic(entries, index)
                    )
                    name = entry[0]
                else:
                    name, position = _string(data, position)
                value, position = _string(data, position)
                header = _new(kind, (name, value))
                if mask == 0x3F:
                    table.add(header)
            else:  # dynamic table size update
                if inflated:
                    raise HPACKDecodingError("Table size update not at the start of the block")
                size = octet & 0x1F
                if size == 0x1F:
                    size, position = _integer(data, position, size)
                if size > self.max_allowed_table_size:
                    raise InvalidTableSizeError("Encoder exceeded max allowable table size")
                table.resize(size)
                continue
            inflated += _ENTRY_OVERHEAD + len(header[0]) + len(header[1])
            if inflated <= limit:  # past the limit the fields are decoded, not kept
                headers.append(header)
        if table.maxsize > self.max_allowed_table_size:
            raise InvalidTableSizeError("Encoder did not shrink table size to within the max")
        if inflated > limit:
            raise HeaderListTooLarge(limit, headers)
        return headers


def _encode_integer(value: int, prefix: int, flags: int) -> bytes:
    """``value`` with a ``prefix``-bit prefix under the ``flags`` bits (RFC 7541 §5.1)."""
    top = (1 << prefix) - 1
    if value < top:
        return bytes((flags | value,))
    out = bytearray((flags | top,))
    value -= top
    while value >= 0x80:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _plain(text: bytes) -> bytes:
    """A string literal without Huffman coding."""
    length = len(text)
    return (_LENGTHS[length] if length < 0x7F else _encode_integer(length, 7, 0)) + text


def _indexed(index: int) -> bytes:
    return _INDEXED[index] if index < 0x7F else _encode_integer(index, 7, 0x80)


def _to_bytes(value: object) -> bytes:
    if type(value) is bytes:
        return value
    return (value if type(value) is str else str(value)).encode("utf-8")


def _sensitive(header: Any) -> bool:
    """Whether a field must never be indexed: a ``NeverIndexedHeaderTuple`` or a
    ``(name, value, True)`` triple."""
    if isinstance(header, HeaderTuple):
        return not header.indexable
    return len(header) > 2 and bool(header[2])


class TablelessEncoder:
    """HPACK without the dynamic table: a block is a pure function of its fields.

    A field is a static-table index when the table has it whole, else a
    literal *without indexing* (never-indexed when sensitive), with plain
    strings. Nothing is inserted into the peer's table, so each field's bytes
    are computed once and reused. After the peer changes
    SETTINGS_HEADER_TABLE_SIZE, the next block starts with a size update to 0
    (RFC 7541 §4.2); this side's table is always empty.
    """

    _CACHE_LIMIT = 1024

    def __init__(self) -> None:
        self._fields: dict[tuple[Any, ...], bytes] = {}
        self._size_update = False

    @property
    def header_table_size(self) -> int:
        """Always 0: this encoder inserts nothing."""
        return 0

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self._size_update = True

    def encode(self, headers: Iterable[Any]) -> bytes:
        """The header block for ``(name, value)`` pairs (bytes or str)."""
        return self.start_block() + self.fields(headers)

    def start_block(self) -> bytes:
        """What the next block starts with: a pending size update, else nothing."""
        if not self._size_update:
            return b""
        self._size_update = False
        return b"\x20"

    def fields(self, headers: Iterable[Any]) -> bytes:
        """The encoded fields alone: the same bytes whenever, on any connection."""
        get = self._fields.get
        parts = []
        for header in headers:
            # a plain (bytes, bytes) pair is its own cache key; anything else is normalised
            encoded = get(header) if type(header) is tuple else None
            parts.append(encoded if encoded is not None else self._field(header))
        return b"".join(parts)

    def _field(self, header: Any) -> bytes:
        sensitive = _sensitive(header)
        name, value = _to_bytes(header[0]), _to_bytes(header[1])
        key = (name, value, True) if sensitive else (name, value)
        encoded = self._fields.get(key)
        if encoded is None:
            if len(self._fields) >= self._CACHE_LIMIT:
                self._fields.clear()
            encoded = self._fields[key] = _tableless_field(name, value, sensitive)
        return encoded


def _tableless_field(name: bytes, value: bytes, sensitive: bool) -> bytes:
    static = _STATIC_INDEX.get(name)
    if static is not None:
        index = static[1].get(value)
        if index is not None and not sensitive:
            return _indexed(index)
        head = _encode_integer(static[0], 4, 0x10 if sensitive else 0x00)
    else:
        head = (b"\x10" if sensitive else b"\x00") + _plain(name)
    return head + _plain(value)


class IndexingEncoder:
    """Writes the bytes ``hpack.Encoder().encode(headers, huffman=False)`` writes.

    Table entries are found through two dictionaries keyed by insertion
    number: the table only grows at the front and loses entries at the back,
    so the entry added as number ``seq`` sits at position ``added - 1 - seq``
    while that position is still inside the table.
    """

    def __init__(self) -> None:
        self.table = DynamicTable()
        self._size_changes: list[int] = []
        self._added = 0
        self._pairs: dict[tuple[bytes, bytes], int] = {}
        self._names: dict[bytes, int] = {}

    @property
    def header_table_size(self) -> int:
        """The dynamic table's maximum size (the peer's SETTINGS_HEADER_TABLE_SIZE)."""
        return self.table.maxsize

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        if value != self.table.maxsize:  # each change is signalled, a repeated value is not
            self._size_changes.append(value)
        self.table.resize(value)

    def encode(self, headers: Iterable[Any] | dict[Any, Any]) -> bytes:
        """Encode one header block (a dictionary's pseudo-header fields go first)."""
        block: list[bytes] = []
        if self._size_changes:
            block += [_encode_integer(size, 5, 0x20) for size in self._size_changes]
            self._size_changes = []
        if isinstance(headers, dict):
            keys = sorted(headers, key=lambda key: not _to_bytes(key).startswith(b":"))
            headers = [(key, headers[key]) for key in keys]
        for header in headers:
            block.append(
                self._field(_to_bytes(header[0]), _to_bytes(header[1]), _sensitive(header))
            )
        return b"".join(block)

    def _field(self, name: bytes, value: bytes, sensitive: bool) -> bytes:
        partial = 0
        static = _STATIC_INDEX.get(name)
        if static is not None:
            index = static[1].get(value)
            if index is not None:
                return _indexed(index)
            partial = static[0]
        size = len(self.table.entries)
        newest = self._added - 1
        seq = self._pairs.get((name, value))
        if seq is not None and newest - seq < size:
            return _indexed(_DYNAMIC_OFFSET + newest - seq)
        if not partial:
            seq = self._names.get(name)
            if seq is not None and newest - seq < size:
                partial = _DYNAMIC_OFFSET + newest - seq
        if sensitive:
            head = _encode_integer(partial, 4, 0x10) if partial else b"\x10" + _plain(name)
        else:
            head = _encode_integer(partial, 6, 0x40) if partial else b"\x40" + _plain(name)
            self._add(name, value)
        return head + _plain(value)

    def _add(self, name: bytes, value: bytes) -> None:
        table = self.table
        table.add((name, value))
        seq = self._added
        self._added = seq + 1
        self._pairs[(name, value)] = seq
        self._names[name] = seq
        if len(self._pairs) > 2 * len(table.entries) + 64:
            self._reindex()

    def _reindex(self) -> None:
        """Forget entries that left the table (every entry still in it keeps its number)."""
        newest = self._added - 1
        pairs: dict[tuple[bytes, bytes], int] = {}
        names: dict[bytes, int] = {}
        for position, (name, value) in enumerate(self.table.entries):
            pairs.setdefault((name, value), newest - position)
            names.setdefault(name, newest - position)
        self._pairs = pairs
        self._names = names

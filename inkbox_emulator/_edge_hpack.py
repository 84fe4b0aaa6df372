"""HPACK for the edge: ``hpack``'s coders with the same results and less work per field.

``hpack.Decoder`` logs every field it decodes at DEBUG (the agents' API keys
included), decodes each integer through a general function, copies the rest of
the block for every literal and builds each field twice. :class:`EdgeDecoder`
walks the block once, inline, over the same header table (static entries are
shared tuples, dynamic ones are stored as the tuples it returns) and raises the
same ``hpack`` exceptions, which h2 turns into its own errors.

``hpack.Encoder`` logs several lines per field and scans the whole dynamic
table for each one. :class:`EdgeEncoder` writes the bytes
``hpack.Encoder().encode(headers, huffman=False)`` writes (plain literals: cheaper
here and at the agent) and finds table entries through two dictionaries keyed by
insertion number: the table only grows at the front (through :meth:`encode`) and
loses entries at the back, so the entry added as number ``seq`` sits at position
``added - 1 - seq`` while that position is still inside the table.
"""

from __future__ import annotations

from collections import deque
from typing import Any, cast

from hpack import (
    Decoder,
    Encoder,
    HeaderTuple,
    HPACKDecodingError,
    InvalidTableIndex,
    InvalidTableSizeError,
    NeverIndexedHeaderTuple,
    OversizedHeaderListError,
)
from hpack.hpack import DEFAULT_MAX_HEADER_LIST_SIZE
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

__all__ = ["EdgeDecoder", "EdgeEncoder"]

_new = tuple.__new__
_STATIC: list[HeaderTuple] = [
    _new(HeaderTuple, entry) for entry in (HeaderTable.STATIC_TABLE[0], *HeaderTable.STATIC_TABLE)
]
"""The static table by HPACK index (1-based; entry 0 is never returned)."""
_STATIC_LENGTH = HeaderTable.STATIC_TABLE_LENGTH
_DYNAMIC_OFFSET = _STATIC_LENGTH + 1
_ENTRY_OVERHEAD = 32  # RFC 7541 §4.1
_MAX_CONTINUATION = 5  # continuation octets of one integer (hpack's VARINT_MAX_LENGTH)
_STATIC_INDEX: dict[bytes, tuple[int, dict[bytes, int]]] = HeaderTable.STATIC_TABLE_MAPPING
_INDEXED = [bytes((0x80 | index,)) for index in range(0x7F)]
_LENGTHS = [bytes((length,)) for length in range(0x7F)]


def _integer(data: bytes, position: int, number: int) -> tuple[int, int]:
    """Finish an HPACK integer whose prefix bits were all ones (``number``): its value and
    the position after it (RFC 7541 §5.1, with hpack's length limit)."""
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


def _insert(table: HeaderTable, entry: tuple[bytes, bytes]) -> None:
    """``HeaderTable.add`` without its logging: newest first, oldest evicted."""
    entries = table.dynamic_entries
    size = _ENTRY_OVERHEAD + len(entry[0]) + len(entry[1])
    maxsize = table.maxsize
    if size > maxsize:
        entries.clear()
        table._current_size = 0
        return
    entries.appendleft(entry)
    current = table._current_size + size
    while current > maxsize:
        name, value = entries.pop()
        current -= _ENTRY_OVERHEAD + len(name) + len(value)
    table._current_size = current


def _dynamic(entries: deque[tuple[bytes, bytes]], index: int) -> HeaderTuple:
    """Dynamic table entry ``index`` (every entry is a ``HeaderTuple`` added by ``_add``)."""
    position = index - _DYNAMIC_OFFSET
    if 0 <= position < len(entries):
        return cast(HeaderTuple, entries[position])
    raise InvalidTableIndex(f"Invalid table index {index}")


class _QuietTable(HeaderTable):
    """``hpack``'s header table without its DEBUG line naming every evicted field."""

    def _shrink(self) -> None:
        entries = self.dynamic_entries
        current = self._current_size
        while current > self._maxsize:
            name, value = entries.pop()
            current -= _ENTRY_OVERHEAD + len(name) + len(value)
        self._current_size = current


class EdgeDecoder(Decoder):
    """``hpack.Decoder`` with the same results, table and errors; raw decoding (what h2
    asks for) is done here without logging."""

    def __init__(self, max_header_list_size: int = DEFAULT_MAX_HEADER_LIST_SIZE) -> None:
        super().__init__(max_header_list_size)
        self.header_table = _QuietTable()

    def decode(self, data: bytes, raw: bool = False) -> list[HeaderTuple]:
        """Decode one header block (see ``hpack.Decoder.decode``)."""
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
        table = self.header_table
        entries = table.dynamic_entries
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
                    _insert(self.header_table, header)
            else:  # dynamic table size update
                if headers:
                    raise HPACKDecodingError("Table size update not at the start of the block")
                size = octet & 0x1F
                if size == 0x1F:
                    size, position = _integer(data, position, size)
                if size > self.max_allowed_table_size:
                    raise InvalidTableSizeError("Encoder exceeded max allowable table size")
                self.header_table_size = size
                continue
            headers.append(header)
            inflated += _ENTRY_OVERHEAD + len(header[0]) + len(header[1])
            if inflated > limit:
                raise OversizedHeaderListError(
                    f"A header list larger than {limit} has been received"
                )
        if table.maxsize > self.max_allowed_table_size:
            raise InvalidTableSizeError("Encoder did not shrink table size to within the max")
        return headers


def _encode_integer(value: int, prefix: int, flags: int) -> bytes:
    """RFC 7541 §5.1: ``value`` with a ``prefix``-bit prefix under the ``flags`` bits."""
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


def _to_bytes(value: object) -> bytes:
    if type(value) is bytes:
        return value
    return (value if type(value) is str else str(value)).encode("utf-8")


class EdgeEncoder(Encoder):
    """``hpack.Encoder`` writing plain literals, with the same output; only :meth:`encode`
    may add table entries."""

    def __init__(self) -> None:
        super().__init__()
        self.header_table = _QuietTable()
        self._added = 0
        self._pairs: dict[tuple[bytes, bytes], int] = {}
        self._names: dict[bytes, int] = {}

    def encode(self, headers: Any, huffman: bool = False) -> bytes:
        """Encode one header block (``huffman`` is ignored: literals are always plain)."""
        if isinstance(headers, dict):
            return super().encode(headers, huffman=False)
        table = self.header_table
        block: list[bytes] = []
        if table.resized:
            block.append(self._encode_table_size_change())
            table.resized = False
        for header in headers:
            if isinstance(header, HeaderTuple):
                sensitive = not header.indexable
            else:
                sensitive = bool(header[2]) if len(header) > 2 else False
            block.append(self._field(_to_bytes(header[0]), _to_bytes(header[1]), sensitive))
        return b"".join(block)

    def _field(self, name: bytes, value: bytes, sensitive: bool) -> bytes:
        partial = 0
        static = _STATIC_INDEX.get(name)
        if static is not None:
            index = static[1].get(value)
            if index is not None:
                return _INDEXED[index] if index < 0x7F else _encode_integer(index, 7, 0x80)
            partial = static[0]
        size = len(self.header_table.dynamic_entries)
        newest = self._added - 1
        seq = self._pairs.get((name, value))
        if seq is not None and newest - seq < size:
            index = _DYNAMIC_OFFSET + newest - seq
            return _INDEXED[index] if index < 0x7F else _encode_integer(index, 7, 0x80)
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

    def add(self, to_add: tuple[bytes, bytes], sensitive: bool, huffman: bool = False) -> bytes:
        """One field (as ``hpack.Encoder.add``, which ``encode`` uses for dictionaries)."""
        return self._field(to_add[0], to_add[1], sensitive)

    def _add(self, name: bytes, value: bytes) -> None:
        table = self.header_table
        _insert(table, (name, value))
        seq = self._added
        self._added = seq + 1
        self._pairs[(name, value)] = seq
        self._names[name] = seq
        entries = table.dynamic_entries
        if len(self._pairs) > 2 * len(entries) + 64:
            self._reindex(entries)

    def _reindex(self, entries: deque[tuple[bytes, bytes]]) -> None:
        """Forget entries that left the table (every entry still in it keeps its number)."""
        newest = self._added - 1
        pairs: dict[tuple[bytes, bytes], int] = {}
        names: dict[bytes, int] = {}
        for position, (name, value) in enumerate(entries):
            pairs.setdefault((name, value), newest - position)
            names.setdefault(name, newest - position)
        self._pairs = pairs
        self._names = names

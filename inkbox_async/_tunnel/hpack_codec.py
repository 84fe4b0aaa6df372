"""HPACK coders with exactly ``hpack``'s results, with less work per field.

:class:`FastDecoder` decodes every representation itself, inline, and logs
nothing (``hpack`` logs each decoded field at DEBUG); it keeps ``hpack``'s
header table, limits and error types.

``hpack.Encoder`` logs several debug lines per field and scans the whole
dynamic table for every field it encodes. This subclass keeps its header
table (so ``h2``'s table-size updates work unchanged) and finds entries
through two dictionaries keyed by insertion number instead: the dynamic
table only ever grows at the front (through :meth:`encode`) and loses
entries from the back, so an entry added as number ``seq`` sits at position
``added - 1 - seq`` while that position is still inside the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import hpack
from hpack import (
    HeaderTuple,
    HPACKDecodingError,
    InvalidTableSizeError,
    NeverIndexedHeaderTuple,
    OversizedHeaderListError,
)
from hpack.hpack import INDEX_INCREMENTAL, INDEX_NEVER, VARINT_MAX_LENGTH
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

__all__ = ["FastDecoder", "FastEncoder"]

_STATIC: dict[bytes, tuple[int, dict[bytes, int]]] = HeaderTable.STATIC_TABLE_MAPPING
_OFFSET = HeaderTable.STATIC_TABLE_LENGTH + 1
_INDEXED = [bytes((0x80 | index,)) for index in range(127)]
_VARINT_MAX_LENGTH = VARINT_MAX_LENGTH  # continuation bytes hpack accepts after the prefix


_CODES = [
    format(code, f"0{length}b")
    for code, length in zip(REQUEST_CODES, REQUEST_CODES_LENGTH, strict=True)
]


class _Huffman(HuffmanEncoder):
    """The HPACK Huffman code of a string, built as a bit string and converted once."""

    def __init__(self) -> None:
        super().__init__(REQUEST_CODES, REQUEST_CODES_LENGTH)

    def encode(self, bytes_to_encode: bytes | None) -> bytes:
        if not bytes_to_encode:
            return b""
        bits = "".join(map(_CODES.__getitem__, bytes_to_encode))
        bits += "1" * (-len(bits) % 8)  # padded with the EOS prefix
        return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _to_bytes(value: Any) -> bytes:
    if type(value) is bytes:
        return value
    return (value if type(value) is str else str(value)).encode("utf-8")


class _QuietTable(HeaderTable):
    """``hpack``'s header table without its DEBUG line naming every evicted field."""

    def _shrink(self) -> None:
        size = self._current_size
        entries = self.dynamic_entries
        while size > self._maxsize:
            name, value = entries.pop()
            size -= 32 + len(name) + len(value)
        self._current_size = size


class FastEncoder(hpack.Encoder):
    """``hpack.Encoder`` with the same output; only :meth:`encode` may add table entries.

    ``huffman`` is the default of :meth:`encode` (h2 calls it without one).
    """

    def __init__(self, *, huffman: bool = True) -> None:
        super().__init__()
        self.header_table = _QuietTable()
        self.huffman = huffman
        self.huffman_coder = _Huffman()
        self._added = 0
        self._pairs: dict[tuple[bytes, bytes], int] = {}
        self._names: dict[bytes, int] = {}

    def encode(self, headers: Any, huffman: bool | None = None) -> bytes:
        if huffman is None:
            huffman = self.huffman
        if isinstance(headers, dict):
            return super().encode(headers, huffman)
        table = self.header_table
        block: list[bytes] = []
        if table.resized:
            block.append(self._encode_table_size_change())
            table.resized = False
        for header in headers:
            block.append(self._field(header, huffman))
        return b"".join(block)

    def _field(self, header: Any, huffman: bool) -> bytes:
        if isinstance(header, hpack.HeaderTuple):
            sensitive = not header.indexable
        else:
            sensitive = bool(header[2]) if len(header) > 2 else False
        name = _to_bytes(header[0])
        value = _to_bytes(header[1])
        partial: int | None = None
        static = _STATIC.get(name)
        if static is not None:
            index = static[1].get(value)
            if index is not None:
                return _INDEXED[index] if index < 127 else self._encode_indexed(index)
            partial = static[0]
        size = len(self.header_table.dynamic_entries)
        newest = self._added - 1
        seq = self._pairs.get((name, value))
        if seq is not None and newest - seq < size:
            index = _OFFSET + newest - seq
            return _INDEXED[index] if index < 127 else self._encode_indexed(index)
        if partial is None:
            seq = self._names.get(name)
            if seq is not None and newest - seq < size:
                partial = _OFFSET + newest - seq
        indexbit = INDEX_NEVER if sensitive else INDEX_INCREMENTAL
        if partial is None:
            encoded = self._encode_literal(name, value, indexbit, huffman)
        else:
            encoded = self._encode_indexed_literal(partial, value, indexbit, huffman)
        if not sensitive:
            self._add(name, value)
        return encoded

    def _add(self, name: bytes, value: bytes) -> None:
        table = self.header_table
        table.add(name, value)
        seq = self._added
        self._added = seq + 1
        self._pairs[(name, value)] = seq
        self._names[name] = seq
        entries = table.dynamic_entries
        if len(self._pairs) > 2 * len(entries) + 64:
            self._reindex(entries)

    def _reindex(self, entries: Iterable[tuple[bytes, bytes]]) -> None:
        """Forget entries that left the table (every entry still in it keeps its number)."""
        newest = self._added - 1
        pairs: dict[tuple[bytes, bytes], int] = {}
        names: dict[bytes, int] = {}
        for position, (name, value) in enumerate(entries):
            pairs.setdefault((name, value), newest - position)
            names.setdefault(name, newest - position)
        self._pairs = pairs
        self._names = names


class FastDecoder(hpack.Decoder):
    """``hpack.Decoder`` with the same results and error types; raw decoding is done here.

    Nothing is logged: ``hpack``'s own methods log every decoded field at
    DEBUG, which would put third-party ``authorization`` headers in the logs.
    """

    def __init__(
        self, max_header_list_size: int = hpack.hpack.DEFAULT_MAX_HEADER_LIST_SIZE
    ) -> None:
        super().__init__(max_header_list_size)
        self.header_table = _QuietTable()

    def decode(self, data: bytes, raw: bool = False) -> list[HeaderTuple]:
        if not raw:
            return list(super().decode(data, raw))
        data = bytes(data)
        headers: list[HeaderTuple] = []
        get = self.header_table.get_by_index
        limit = self.max_header_list_size
        inflated = 0
        position = 0
        end = len(data)
        while position < end:
            current = data[position]
            header: HeaderTuple
            if current & 0x80:
                index, position = _integer(data, position, 7)
                name, value = get(index)
                header = HeaderTuple(name, value)
            elif current & 0x40:
                header, position = self._literal(data, position, 6, index=True, never=False)
            elif current & 0x20:
                if headers:
                    raise HPACKDecodingError("Table size update not at the start of the block")
                size, position = _integer(data, position, 5)
                if size > self.max_allowed_table_size:
                    raise InvalidTableSizeError("Encoder exceeded max allowable table size")
                self.header_table_size = size
                continue
            else:
                never = bool(current & 0x10)
                header, position = self._literal(data, position, 4, index=False, never=never)
            headers.append(header)
            inflated += 32 + len(header[0]) + len(header[1])
            if inflated > limit:
                raise OversizedHeaderListError(
                    f"A header list larger than {limit} has been received"
                )
        self._assert_valid_table_size()
        return headers

    def _literal(
        self, data: bytes, position: int, prefix: int, *, index: bool, never: bool
    ) -> tuple[HeaderTuple, int]:
        name_index, position = _integer(data, position, prefix)
        if name_index:
            name = self.header_table.get_by_index(name_index)[0]
        else:
            name, position = _string(data, position)
        value, position = _string(data, position)
        if index:
            self.header_table.add(name, value)
        if never:
            return NeverIndexedHeaderTuple(name, value), position
        return HeaderTuple(name, value), position


def _integer(data: bytes, position: int, prefix: int) -> tuple[int, int]:
    """An HPACK integer with an N-bit prefix at ``position``; returns it and the next position."""
    mask = (1 << prefix) - 1
    try:
        value = data[position] & mask
        position += 1
        if value < mask:
            return value, position
        shift = 0
        for _ in range(_VARINT_MAX_LENGTH):
            byte = data[position]
            position += 1
            value += (byte & 0x7F) << shift
            if byte < 0x80:
                return value, position
            shift += 7
    except IndexError:
        raise HPACKDecodingError("Truncated HPACK integer") from None
    raise HPACKDecodingError("HPACK integer representation is too long")


def _string(data: bytes, position: int) -> tuple[bytes, int]:
    """An HPACK string literal at ``position``; returns it and the next position."""
    if position >= len(data):
        raise HPACKDecodingError("Truncated header block")
    huffman = data[position] & 0x80
    length, position = _integer(data, position, 7)
    end = position + length
    if end > len(data):
        raise HPACKDecodingError("Truncated header block")
    value = data[position:end]
    return (decode_huffman(value) if huffman else value), end

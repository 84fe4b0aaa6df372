"""HPACK coders for the tunnel's HTTP/2 links: less work per field, nothing logged.

:class:`FastDecoder` decodes every representation itself, inline, with
``hpack``'s header table, limits and error types; ``hpack`` itself logs each
decoded field (and each evicted one) at DEBUG, which would put third-party
``authorization`` headers in the logs.

:class:`TablelessEncoder` never uses the dynamic table, so each field's
bytes are computed once and reused, and no secret ever sits in the peer's
compression state.
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
from hpack.hpack import VARINT_MAX_LENGTH
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

__all__ = ["FastDecoder", "HeaderListTooLarge", "TablelessEncoder"]

_STATIC: dict[bytes, tuple[int, dict[bytes, int]]] = HeaderTable.STATIC_TABLE_MAPPING
_VARINT_MAX_LENGTH = VARINT_MAX_LENGTH  # continuation bytes hpack accepts after the prefix


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


class TablelessEncoder:
    """HPACK without the dynamic table: a block is a pure function of its fields.

    A field is a static-table index when the table has it whole, else a
    literal *without indexing* (never-indexed for a ``NeverIndexedHeaderTuple``
    or a ``(name, value, True)`` triple), with plain (not Huffman-coded)
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
        cache = self._fields
        get = cache.get
        parts = []
        for header in headers:
            # a plain (bytes, bytes) pair is its own cache key; anything else is normalised
            encoded = get(header) if type(header) is tuple else None
            parts.append(encoded if encoded is not None else self._field(header))
        return b"".join(parts)

    def _field(self, header: Any) -> bytes:
        sensitive = (
            not header.indexable
            if isinstance(header, hpack.HeaderTuple)
            else len(header) > 2 and bool(header[2])
        )
        name, value = _to_bytes(header[0]), _to_bytes(header[1])
        key = (name, value, True) if sensitive else (name, value)
        encoded = self._fields.get(key)
        if encoded is None:
            if len(self._fields) >= self._CACHE_LIMIT:
                self._fields.clear()
            encoded = self._fields[key] = _tableless_field(name, value, sensitive)
        return encoded


def _tableless_field(name: bytes, value: bytes, sensitive: bool) -> bytes:
    static = _STATIC.get(name)
    if static is not None:
        index = static[1].get(value)
        if index is not None and not sensitive:
            return _hpack_integer(index, 7, 0x80)
        head = _hpack_integer(static[0], 4, 0x10 if sensitive else 0x00)
    else:
        head = (b"\x10" if sensitive else b"\x00") + _hpack_integer(len(name), 7, 0) + name
    return head + _hpack_integer(len(value), 7, 0) + value


def _hpack_integer(value: int, prefix: int, flags: int) -> bytes:
    """An HPACK integer with an N-bit prefix, the first byte's other bits set to ``flags``."""
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes((flags | value,))
    out = [flags | limit]
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class HeaderListTooLarge(OversizedHeaderListError):
    """A header list over the limit, raised only once the whole block was decoded.

    The dynamic table is then in step with the peer's, so the connection can
    go on and only the stream that carried the block fails. ``fields`` holds
    the leading fields that fitted within the limit.
    """

    def __init__(self, limit: int, fields: list[HeaderTuple]) -> None:
        super().__init__(f"A header list larger than {limit} has been received")
        self.fields = fields


class FastDecoder(hpack.Decoder):
    """``hpack.Decoder`` with the same results and error types; raw decoding is done here.

    Nothing is logged: ``hpack``'s own methods log every decoded field at
    DEBUG, which would put third-party ``authorization`` headers in the logs.

    One difference: a raw header list over ``max_header_list_size`` is
    still decoded to its end (keeping the table in step, as RFC 9113 §10.5.1
    asks) before :class:`HeaderListTooLarge` is raised; ``hpack`` stops at
    the first field over the limit, which leaves the connection unusable.
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
                if inflated:
                    raise HPACKDecodingError("Table size update not at the start of the block")
                size, position = _integer(data, position, 5)
                if size > self.max_allowed_table_size:
                    raise InvalidTableSizeError("Encoder exceeded max allowable table size")
                self.header_table_size = size
                continue
            else:
                never = bool(current & 0x10)
                header, position = self._literal(data, position, 4, index=False, never=never)
            inflated += 32 + len(header[0]) + len(header[1])
            if inflated <= limit:  # past the limit the fields are decoded, not kept
                headers.append(header)
        self._assert_valid_table_size()
        if inflated > limit:
            raise HeaderListTooLarge(limit, headers)
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

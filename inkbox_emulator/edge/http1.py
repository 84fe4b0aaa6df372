"""The public listener's HTTP/1.1 server side: request heads and bodies in, response heads out.

A lean, sans-I/O replacement for h11 on the listener's hot path: one search
for the blank line and one split per head. It keeps what the listener
answered with h11 (the same 400s, keep-alive rules, ``100 Continue`` and
response bytes) and is stricter where h11 was lenient: obsolete line folding,
control characters in field values, ``Transfer-Encoding`` together with
``Content-Length``, malformed chunked bodies (h11 dropped the connection
silently) and heads over the limit however they arrive are all refused
(RFC 9110 §5.5, RFC 9112 §5.2, §6.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_HEAD", "BadRequest", "InvalidHeader", "Request", "RequestReader", "encode_head"]

Headers = list[tuple[bytes, bytes]]

MAX_HEAD = 1 << 16
"""Largest request head, chunk-size line or trailer section accepted (h11's limit here)."""

_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_REQUEST_LINE = re.compile(rb"([-!#$%&'*+.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/([0-9]\.[0-9])")
# VCHAR, obs-text, SP and HTAB: what a field line may hold (RFC 9110 §5.5).
_FIELD_BYTES = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100)) + b"\t"
# What h11 let through in the fields it sent; kept so replies pass as before.
_SENT_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[^\x00\r\n]*)?[ \t]*")
_MAX_LENGTH_DIGITS = 20
_FRAMING = frozenset([b"host", b"content-length", b"transfer-encoding", b"connection", b"expect"])

_SIZE, _DATA, _DATA_END, _TRAILER = range(4)


class BadRequest(Exception):
    """The caller broke HTTP/1.1; the listener answers 400 and closes."""


class InvalidHeader(ValueError):
    """A response field that is not valid HTTP."""


@dataclass(slots=True)
class Request:
    """One request head, as the envelope needs it."""

    method: bytes
    target: bytes
    version: bytes
    """``b"1.1"``, ``b"1.0"``, ... (one digit each side, as on the request line)."""
    headers: Headers
    """In arrival order, repeats kept: lower-case names, values without surrounding
    whitespace; a repeated equal ``content-length`` appears once (as h11 gave them)."""
    host: bytes
    keep_alive: bool
    expects_continue: bool
    chunked: bool
    length: int
    """Body length when not chunked."""


class RequestReader:
    """Incremental parser of the requests on one connection (no I/O).

    ``feed`` bytes as they arrive; ``next_request`` returns a head once it is
    complete, then ``next_body`` returns its body once complete; both return
    ``None`` while more bytes are needed and raise :class:`BadRequest`.
    """

    def __init__(self, max_head: int = MAX_HEAD) -> None:
        self.max_head = max_head
        self._buf = bytearray()
        self._scanned = 0
        self._request: Request | None = None
        self._body = bytearray()
        self._state = _SIZE
        self._left = 0

    def feed(self, data: bytes) -> None:
        """Append bytes received from the caller."""
        self._buf += data

    @property
    def buffered(self) -> int:
        """How many received bytes are not parsed yet."""
        return len(self._buf)

    def take_rest(self) -> bytes:
        """Everything buffered after the last complete request (for a protocol switch)."""
        rest = bytes(self._buf)
        self._buf.clear()
        return rest

    def next_request(self) -> Request | None:
        """The next request head, or ``None`` until it is complete."""
        buf = self._buf
        while buf[:1] == b"\n" or buf[:2] == b"\r\n":  # empty lines before a request line
            del buf[: 1 if buf[0] == 0x0A else 2]  # are ignored (RFC 9112 §2.2)
        if buf == b"\r":
            return None
        if buf and buf[0] < 0x21:
            raise BadRequest("the request line starts with whitespace or a control byte")
        found = _find_blank_line(buf, self._scanned)
        if found is None:
            if len(buf) > self.max_head:
                raise BadRequest("request head too large")
            self._scanned = max(0, len(buf) - 2)
            return None
        end, after = found
        if after > self.max_head:
            raise BadRequest("request head too large")
        lines = _lines(buf, end)
        del buf[:after]
        self._scanned = 0
        request = _parse_head(lines)
        self._request = request
        self._left = request.length
        self._state = _SIZE
        return request

    def next_body(self) -> bytes | None:
        """The body of the request just returned, or ``None`` until it is complete."""
        request = self._request
        assert request is not None, "next_body() before next_request()"
        buf = self._buf
        if request.chunked:
            body = self._chunked()
        elif not self._left:
            body = b""
        elif len(buf) >= self._left:
            with memoryview(buf) as view:
                body = bytes(view[: self._left])
            del buf[: self._left]
        else:
            body = None
        if body is not None:
            self._request = None
        return body

    def _chunked(self) -> bytes | None:
        buf = self._buf
        while True:
            if self._state == _SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > self.max_head:
                        raise BadRequest("chunk-size line too long")
                    return None
                match = _CHUNK_SIZE.fullmatch(buf, 0, end)
                if match is None:
                    raise BadRequest("malformed chunk-size line")
                self._left = int(match[1], 16)
                del buf[: end + 2]
                self._state = _DATA if self._left else _TRAILER
            elif self._state == _DATA:
                if not buf:
                    return None
                take = min(self._left, len(buf))
                with memoryview(buf) as view:
                    self._body += view[:take]
                del buf[:take]
                self._left -= take
                if self._left:
                    return None
                self._state = _DATA_END
            elif self._state == _DATA_END:
                if buf[:2] != b"\r\n"[: len(buf)]:
                    raise BadRequest("chunk data not followed by CRLF")
                if len(buf) < 2:
                    return None
                del buf[:2]
                self._state = _SIZE
            else:
                return self._trailers()

    def _trailers(self) -> bytes | None:
        buf = self._buf
        found = _find_blank_line(buf, self._scanned, trailers=True)
        if found is None:
            if len(buf) > self.max_head:
                raise BadRequest("trailer section too large")
            self._scanned = max(0, len(buf) - 2)
            return None
        end, after = found
        if end:
            _fields(_lines(buf, end))  # validated, then ignored
        del buf[:after]
        self._scanned = 0
        body = bytes(self._body)
        self._body.clear()
        return body


def _find_blank_line(
    buf: bytearray, start: int, *, trailers: bool = False
) -> tuple[int, int] | None:
    """(end of the last line, end of the blank line) of the section at the buffer's start.

    Lines end in CRLF or a bare LF (RFC 9112 §2.2), as h11 accepted.
    """
    if trailers:
        if buf[:2] == b"\r\n":
            return 0, 2
        if buf[:1] == b"\n":
            return 0, 1
    crlf = buf.find(b"\n\r\n", start)
    lf = buf.find(b"\n\n", start, len(buf) if crlf < 0 else crlf + 1)
    if lf >= 0:
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 3
    return None


def _lines(buf: bytearray, end: int) -> list[bytes]:
    """The lines up to ``end`` (the LF ending the last one), without their CR/LF."""
    head = bytes(buf[: end + 1])
    crlf = head.count(b"\r\n")
    # Left after deleting field bytes: line breaks, or a control character that is refused.
    if head.count(b"\r") != crlf or head.translate(None, _FIELD_BYTES).strip(b"\r\n"):
        raise BadRequest("a control character or bare CR in the head")
    if crlf == head.count(b"\n"):
        return head[:-2].split(b"\r\n")
    return [line.removesuffix(b"\r") for line in head[:-1].split(b"\n")]


def _fields(lines: list[bytes]) -> Headers:
    fields: Headers = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            # also a line starting with SP/HTAB: obsolete folding is refused
            raise BadRequest("malformed field line")
        fields.append((name.lower(), value.strip(b" \t")))
    return fields


def _parse_head(lines: list[bytes]) -> Request:
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        raise BadRequest("malformed request line")
    method, target, version = match.groups()
    headers: Headers = []
    host: bytes | None = None
    hosts = 0
    length: bytes | None = None
    chunked = close = expect = False
    for name, value in _fields(lines[1:]):
        if name in _FRAMING:
            if name == b"host":
                hosts += 1
                if host is None:
                    host = value
            elif name == b"content-length":
                values = {part.strip() for part in value.split(b",")}
                value = values.pop()
                if values or not value.isdigit() or len(value) > _MAX_LENGTH_DIGITS:
                    raise BadRequest("invalid Content-Length")
                if length is not None:
                    if value != length:
                        raise BadRequest("conflicting Content-Length fields")
                    continue
                length = value
            elif name == b"transfer-encoding":
                value = value.lower()
                if chunked or value != b"chunked":
                    raise BadRequest("unsupported Transfer-Encoding")
                chunked = True
            elif name == b"connection":
                close = close or b"close" in _tokens(value)
            else:
                expect = expect or b"100-continue" in _tokens(value)
        headers.append((name, value))
    if hosts > 1 or (hosts == 0 and version == b"1.1"):
        raise BadRequest("a request needs exactly one Host field")
    if chunked and length is not None:
        raise BadRequest("both Transfer-Encoding and Content-Length")
    modern = version >= b"1.1"
    return Request(
        method=method,
        target=target,
        version=version,
        headers=headers,
        host=host or b"",
        keep_alive=modern and not close,
        expects_continue=modern and expect,
        chunked=chunked,
        length=int(length) if length is not None else 0,
    )


def _tokens(value: bytes) -> list[bytes]:
    return [part.strip() for part in value.lower().split(b",")]


def encode_head(status: int, reason: bytes, headers: Headers) -> bytes:
    """A response (or 1xx) head; ``host`` fields first, as h11 wrote them.

    Raises :class:`InvalidHeader` for a field name that is not a token or a
    value h11 would not have sent.
    """
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
    hosts: list[bytes] = []
    for name, value in headers:
        if _TOKEN.fullmatch(name) is None or _SENT_VALUE.fullmatch(value) is None:
            raise InvalidHeader(name)
        line = name + b": " + value + b"\r\n"
        if len(name) == 4 and name.lower() == b"host":
            hosts.append(line)
        else:
            lines.append(line)
    if hosts:
        lines[1:1] = hosts
    lines.append(b"\r\n")
    return b"".join(lines)

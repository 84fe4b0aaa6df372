"""HPACK's Huffman code (RFC 7541 §5.2): decoding, four bits at a time.

The decoder is a state machine over the code tree's inner nodes, built from
:data:`~inkbox_wire.hpack_tables.HUFFMAN_CODES` on first use (our own coders
write plain strings; Huffman-coded ones come from other peers). A string is
invalid if it holds the EOS symbol or ends in padding that is longer than
seven bits or not a prefix of EOS.
"""

from __future__ import annotations

from hpack import HPACKDecodingError

from inkbox_wire.hpack_tables import HUFFMAN_CODES, HUFFMAN_LENGTHS

__all__ = ["decode_huffman"]

_EOS = 256
_FAIL = -1

_machine: tuple[list[int], list[bytes], list[bool]] | None = None


def _build() -> tuple[list[int], list[bytes], list[bool]]:
    """For each (inner node, nibble): the next node (or ``_FAIL``) and the octets emitted;
    for each inner node: whether a string may end there."""
    children: list[list[int]] = [[0, 0]]  # inner nodes; a child < 0 is leaf ~symbol
    for symbol, (code, length) in enumerate(zip(HUFFMAN_CODES, HUFFMAN_LENGTHS, strict=True)):
        node = 0
        for shift in range(length - 1, 0, -1):
            bit = code >> shift & 1
            if children[node][bit] == 0:
                children.append([0, 0])
                children[node][bit] = len(children) - 1
            node = children[node][bit]
        children[node][code & 1] = ~symbol
    accepting = [False] * len(children)
    node = 0
    for _ in range(8):  # the all-ones path of up to seven bits is valid padding
        accepting[node] = True
        node = children[node][1]
    following: list[int] = []
    emitted: list[bytes] = []
    for start in range(len(children)):
        for nibble in range(16):
            node, out = start, bytearray()
            for shift in (3, 2, 1, 0):
                child = children[node][nibble >> shift & 1]
                if child >= 0:
                    node = child
                elif ~child == _EOS:
                    node = _FAIL
                    break
                else:
                    out.append(~child)
                    node = 0
            following.append(node)
            emitted.append(bytes(out))
    return following, emitted, accepting


def decode_huffman(data: bytes) -> bytes:
    """The octets a Huffman-coded string stands for; raises ``HPACKDecodingError`` if invalid."""
    global _machine
    if _machine is None:
        _machine = _build()
    following, emitted, accepting = _machine
    out = []
    node = 0
    for octet in data:
        index = node << 4 | octet >> 4
        node = following[index]
        if node < 0:
            raise HPACKDecodingError("Invalid Huffman string")
        out.append(emitted[index])
        index = node << 4 | octet & 0x0F
        node = following[index]
        if node < 0:
            raise HPACKDecodingError("Invalid Huffman string")
        out.append(emitted[index])
    if not accepting[node]:
        raise HPACKDecodingError("Invalid Huffman string")
    return b"".join(out)

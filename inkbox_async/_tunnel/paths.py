"""The path-traversal guard applied to every public request path."""

from __future__ import annotations

from urllib.parse import unquote

__all__ = ["is_safe_path"]

_ENCODED_SEPARATORS = ("%2f", "%5c")


def is_safe_path(raw_target: str) -> bool:
    """``False`` for a request target that tries to traverse or smuggle separators.

    Only the part before ``?`` is checked; the target itself is forwarded
    unchanged. Any double percent-encoding is refused.
    """
    path = raw_target.split("?", 1)[0]
    lowered = path.lower()
    if any(token in lowered for token in _ENCODED_SEPARATORS):
        return False
    decoded = unquote(path, errors="replace")
    if decoded != path and unquote(decoded, errors="replace") != decoded:
        return False
    for segment in decoded.split("/"):
        if segment in (".", "..") or "\\" in segment:
            return False
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in segment):
            return False
    return True

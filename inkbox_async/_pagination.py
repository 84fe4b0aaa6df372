"""Cursor pagination: iterate every item, holding one page at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Generic, TypeVar

from inkbox_async._converter import converter, unexpected
from inkbox_async._errors import InkboxError

from ._transport import AsyncTransport

T = TypeVar("T")


class AsyncCursorPager(Generic[T]):
    """Iterates a cursor-paginated list (``{"items", "next_cursor", "has_more"}``).

    Requests the next page only when the current one is used up, so memory
    stays at one page whatever the list's length. Iterating again starts over.
    """

    def __init__(
        self,
        transport: AsyncTransport,
        path: str,
        item_type: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int = 50,
    ) -> None:
        self._transport = transport
        self._path = path
        self._item_type = item_type
        self._params = dict(params or {})
        self._page_size = page_size

    async def __aiter__(self) -> AsyncIterator[T]:
        hook = converter().get_structure_hook(self._item_type)
        cursor: str | None = None
        while True:
            page = await self._transport.request(
                "GET",
                self._path,
                params={**self._params, "limit": self._page_size, "cursor": cursor},
            )
            try:
                items = [hook(item, self._item_type) for item in page["items"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise unexpected(self._item_type, exc) from exc
            for item in items:
                yield item
            has_more, next_cursor = page.get("has_more"), page.get("next_cursor")
            del page, items  # hold nothing of this page while the next one loads
            if not has_more:
                return
            if not next_cursor or next_cursor == cursor:
                raise InkboxError(
                    f"GET {self._path}: the API reported more items without a new cursor"
                )
            cursor = next_cursor

"""Cursor pagination: iterate every item, holding one page at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from inkbox_async._converter import MALFORMED, converter, unexpected
from inkbox_async._errors import InkboxError

from ._requester import AsyncRequester

T = TypeVar("T")
_END: Any = object()


class AsyncCursorPager(Generic[T]):
    """A cursor-paginated list (``{"items", "next_cursor", "has_more"}``) to iterate.

    The next page is requested only when the current one is used up, so memory
    stays at one page whatever the list's length; stopping early sends no more
    requests. Each iteration starts from the first page.
    """

    def __init__(
        self,
        requester: AsyncRequester,
        path: str,
        item_type: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int = 50,
        keep: Callable[[T], bool] | None = None,
    ) -> None:
        self._requester = requester
        self._path = path
        self._item_type = item_type
        self._params = dict(params or {})
        self._page_size = page_size
        self._keep = keep

    def where(self, keep: Callable[[T], bool]) -> AsyncCursorPager[T]:
        """The same list, yielding only the items for which ``keep`` is true."""
        return AsyncCursorPager(
            self._requester,
            self._path,
            self._item_type,
            params=self._params,
            page_size=self._page_size,
            keep=keep,
        )

    def __aiter__(self) -> AsyncCursorWalk[T]:
        return AsyncCursorWalk(self)

    async def _page(self, cursor: str | None) -> tuple[list[T], str | None]:
        """One page's items, and the next cursor (None after the last page)."""
        page = await self._requester.request(
            "GET", self._path, params={**self._params, "limit": self._page_size, "cursor": cursor}
        )
        hook = converter().get_structure_hook(self._item_type)
        try:
            items = [hook(item, self._item_type) for item in page["items"]]
        except MALFORMED as exc:
            raise unexpected(self._item_type, exc) from exc
        if self._keep is not None:
            items = [item for item in items if self._keep(item)]
        if not page.get("has_more"):
            return items, None
        next_cursor = page.get("next_cursor")
        if not next_cursor or next_cursor == cursor:
            raise InkboxError(f"GET {self._path}: the API reported more items without a new cursor")
        return items, str(next_cursor)


class AsyncCursorWalk(Generic[T]):
    """One pass over the pages of a :class:`AsyncCursorPager` (safe to abandon)."""

    def __init__(self, pager: AsyncCursorPager[T]) -> None:
        self._pager = pager
        self._items: Iterator[T] = iter(())
        self._cursor: str | None = None
        self._started = False

    def __aiter__(self) -> AsyncCursorWalk[T]:
        return self

    async def __anext__(self) -> T:
        item = next(self._items, _END)
        while item is _END:
            if self._started and self._cursor is None:
                raise StopAsyncIteration
            self._items = iter(())  # hold nothing of this page while the next loads
            items, self._cursor = await self._pager._page(self._cursor)
            self._items = iter(items)
            self._started = True
            item = next(self._items, _END)
        return item

"""Errors raised by the emulator's state operations and their FastAPI-shaped bodies.

The hosted Inkbox API is a FastAPI service, so every error body is an object
with a ``detail`` member: a string for most errors, an object for the few
structured errors (``handle_unavailable``, ``redundant_grant``) and a list of
validation items for request-validation failures (422).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "ValidationItem", "handle_unavailable", "validation_error", "value_error"]

ValidationItem = dict[str, Any]
"""One item of a request-validation 422 (``type``, ``loc``, ``msg``, ``input``, ``ctx``?)."""


class ApiError(Exception):
    """An HTTP error with a FastAPI-style ``detail``.

    Raised inside a store transaction it also rolls the transaction back, so a
    failed request never leaves half-written state behind.
    """

    def __init__(
        self,
        status: int,
        detail: str | dict[str, Any] | list[ValidationItem],
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body the emulator answers with."""
        return {"detail": self.detail}


def validation_error(items: list[ValidationItem]) -> ApiError:
    """A 422 request-validation error with FastAPI's list-shaped ``detail``."""
    return ApiError(422, items)


def value_error(loc: tuple[str | int, ...], message: str, value: object) -> ApiError:
    """A 422 for a value that has the right type but breaks a rule (pydantic ``value_error``)."""
    return validation_error(
        [
            {
                "type": "value_error",
                "loc": list(loc),
                "msg": f"Value error, {message}",
                "input": value,
                "ctx": {"error": message},
            }
        ]
    )


def handle_unavailable(handle: str, namespace: str) -> ApiError:
    """The structured 409 for a handle taken in one of the shared namespaces."""
    what = {"identities": "an agent identity", "tunnels": "a tunnel", "mail": "a mailbox"}
    return ApiError(
        409,
        {
            "error": "handle_unavailable",
            "detail": f"Handle '{handle}' is already in use by {what.get(namespace, namespace)}.",
            "blocking_namespace": namespace,
        },
    )

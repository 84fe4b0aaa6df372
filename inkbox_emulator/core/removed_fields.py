"""The service's 422 for request fields it dropped.

``webhook_url`` on a mailbox PATCH and ``incoming_text_webhook_url`` on phone
provisioning, number updates and identity-create's ``phone_number`` answer a
pydantic ``extra_forbidden`` item: mail and text webhooks are configured with
webhook subscriptions now.
"""

from __future__ import annotations

from .validation import MISSING, Fields, Missing

__all__ = ["SUBSCRIPTIONS", "forbid_removed_field"]

SUBSCRIPTIONS = "POST /api/v1/webhooks/subscriptions"


def forbid_removed_field(fields: Fields, name: str, replacement: str = SUBSCRIPTIONS) -> Missing:
    """Record the 422 item when ``name`` was sent; always MISSING (the value is never used)."""
    if name in fields.data:
        fields.error(
            name,
            "extra_forbidden",
            f"Extra inputs are not permitted ({name} was removed; use {replacement})",
            fields.data[name],
        )
    return MISSING

"""Provision a phone number for an agent, configure it, release it."""

from __future__ import annotations

import uuid

import _runtime

from inkbox_sync import Inkbox


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        identity = inkbox.create_identity(f"phone-bot-{uuid.uuid4().hex[:6]}")
        try:
            number = identity.provision_phone_number(type="local", state="NY")
            assert number is not None
            print("provisioned", number.number, "sms:", number.sms_status)
            inkbox.phone_numbers.update(
                number.id,
                incoming_call_action="auto_accept",
                client_websocket_url="wss://my-agent.example.com/voice",
            )
            print("calls now auto-accepted to the agent's WebSocket")
            inkbox.phone_numbers.update(
                number.id,
                incoming_call_action="forward",
                forwarding_target_type="phone",
                forwarding_phone_number="+15557654321",
            )
            print("calls now forwarded to +15557654321")
            identity.phone_contact_rules.create(action="block", match_target="+15550009999")
            print("calls and texts with +15550009999 blocked")
            identity.release_phone_number()
            print("released", number.number)
        finally:
            identity.delete()


if __name__ == "__main__":
    main()

"""Place a call, list an agent's calls with their transcripts, hang up from outside."""

from __future__ import annotations

import uuid

import _runtime

from inkbox_sync import Inkbox


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        identity = inkbox.create_identity(f"caller-{uuid.uuid4().hex[:6]}")
        try:
            identity.provision_phone_number()  # local: the only kind offered
            call = identity.place_call(
                to_number="+15551234567", client_websocket_url="wss://my-agent.example.com/voice"
            )
            if call.rate_limit is not None:
                print(
                    "placed",
                    call.id,
                    call.status,
                    "calls left today:",
                    call.rate_limit.calls_remaining,
                )
            if _runtime.EMULATOR is not None:  # what the voice pipeline would have transcribed
                _runtime.EMULATOR.append_transcript(
                    str(call.id), "local", "Hi, this is your order bot."
                )
                _runtime.EMULATOR.append_transcript(
                    str(call.id), "remote", "I would like a refund."
                )
            for c in identity.list_calls(limit=10):
                segments = identity.list_transcripts(c.id)
                print(f"--- call {c.id} ({c.direction}, {c.status}) ---")
                for t in segments:
                    print(f"  [{t.party:6}] {t.text}")
            if call.status not in ("completed", "failed", "canceled"):
                ended = identity.hangup_call(call.id)
                print("hung up", ended.id, ended.hangup_reason)
        finally:
            identity.delete()


if __name__ == "__main__":
    main()

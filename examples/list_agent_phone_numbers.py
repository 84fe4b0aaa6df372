"""List every phone number of the organisation."""

from __future__ import annotations

import uuid

import _runtime

from inkbox_sync import Inkbox


def main() -> None:
    with _runtime.api() as (key, base_url), Inkbox(api_key=key, base_url=base_url) as inkbox:
        created = []
        if _runtime.EMULATOR is not None:  # give the fresh emulator something to list
            for state in ("NY", "CA"):
                identity = inkbox.create_identity(f"lister-{uuid.uuid4().hex[:6]}")
                identity.provision_phone_number(state=state)
                created.append(identity)
        for number in inkbox.phone_numbers.list():
            print(number.number, number.type, number.status, "sms:", number.sms_status)
        for identity in created:
            identity.delete()


if __name__ == "__main__":
    main()

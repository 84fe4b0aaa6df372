"""Agent self-signup: register, read the code the human got, verify, check restrictions.

Against the emulator the verification code is read through its control API;
against the hosted API the human receives it by email.
"""

from __future__ import annotations

from inkbox_emulator import Emulator
from inkbox_sync import Inkbox


def main() -> None:
    with Emulator() as emu:
        result = Inkbox.signup(
            "john@example.com",
            note_to_human="Hey John, this is your sales bot signing up!",
            agent_handle="sales-agent",
            base_url=emu.base_url,
        )
        print("handle:", result.agent_handle, "mailbox:", result.email_address, result.claim_status)
        status = Inkbox.get_signup_status(result.api_key, base_url=emu.base_url)
        print(
            "unclaimed: may send",
            status.restrictions.max_sends_per_day,
            "emails a day to",
            status.restrictions.allowed_recipients,
        )
        code = emu.signup_code(result.agent_handle)  # the human reads this in their email
        verified = Inkbox.verify_signup(result.api_key, code, base_url=emu.base_url)
        print("verified:", verified.claim_status)


if __name__ == "__main__":
    main()

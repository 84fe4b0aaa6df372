"""The async -> sync rule table: every name codegen rewrites, and to what.

``PROSE_RULES`` rewrite the words of docstrings and comments in the package
(``async with`` → ``with``, ``await x`` → ``x``, ``aclose`` → ``close``);
``Async*`` names in them follow ``PACKAGE_RULES``.

Each rule must be used by some generated file (the check fails otherwise),
and every ``Async*`` name met in a source must be listed here, so the table
stays exact and minimal.
"""

import re

# Names rewritten in the SDK package (pure modules are imported from
# inkbox_async by absolute imports, which these rules leave alone).
PACKAGE_RULES: dict[str, str] = {
    "AsyncInkbox": "Inkbox",
    "AsyncAgentIdentity": "AgentIdentity",
    "AsyncApiKeys": "ApiKeys",
    "AsyncSignup": "Signup",
    "AsyncRequester": "Requester",
    "AsyncEngine": "Engine",
    "AsyncCursorPager": "CursorPager",
    "AsyncCursorWalk": "CursorWalk",
    "AsyncVault": "Vault",
    "AsyncUnlockedVault": "UnlockedVault",
    "AsyncPhoneNumbers": "PhoneNumbers",
    "AsyncCalls": "Calls",
    "AsyncTranscripts": "Transcripts",
    "AsyncTexts": "Texts",
    "AsyncSmsOptIns": "SmsOptIns",
    "AsyncPhoneContactRules": "PhoneContactRules",
    "AsyncMailboxes": "Mailboxes",
    "AsyncMessages": "Messages",
    "AsyncThreads": "Threads",
    "AsyncDomains": "Domains",
    "AsyncMailContactRules": "MailContactRules",
    "AsyncIdentityMailContactRules": "IdentityMailContactRules",
    "AsyncIdentityPhoneContactRules": "IdentityPhoneContactRules",
    "AsyncTunnels": "Tunnels",
    "AsyncTunnelListener": "TunnelListener",
    "AsyncContacts": "Contacts",
    "AsyncContactAccessRows": "ContactAccessRows",
    "AsyncVCards": "VCards",
    "AsyncNotes": "Notes",
    "AsyncNoteGrants": "NoteGrants",
    "AsyncWebhooks": "Webhooks",
    "AsyncWebhookSubscriptions": "WebhookSubscriptions",
    "AsyncWebhookDeliveries": "WebhookDeliveries",
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "AsyncHTTPTransport": "HTTPTransport",
    "handle_async_request": "handle_request",
    "aread": "read",
    "aclose": "close",
    "_aio": "_blocking",
}

# Extra names rewritten in the tests: they import the public package.
TEST_RULES: dict[str, str] = {
    **PACKAGE_RULES,
    "inkbox_async": "inkbox_sync",
    "call_in_thread": "call_here",
    "serve_forever": "wait",
}

# Words rewritten in the package's docstrings and comments, in order.
PROSE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\ban async (context manager|iterator|generator)"), r"a \1"),
    (re.compile(r"\basync (with|for)\b"), r"\1"),
    (re.compile(r"\basync (context manager|iterator|generator|iterable|method|call)"), r"\1"),
    (re.compile(r"\bawait "), ""),
    (re.compile(r"\baclose\b"), "close"),
    (re.compile(r"\b__aenter__\b"), "__enter__"),
    (re.compile(r"\b__aexit__\b"), "__exit__"),
]

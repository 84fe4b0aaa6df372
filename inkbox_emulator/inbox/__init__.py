"""The emulator's web inbox: see and drive the local Inkbox world in a browser.

Served by the emulator itself at ``/`` (pages under ``/inbox/``): every organisation's
identities, mailboxes (threads, messages, HTML bodies in a sandboxed frame, attachments,
search), texts, calls and transcripts, webhook deliveries with every attempt (and a
replay button), tunnels with their connections and recent requests, the request log
and the faults in force, the vault's metadata. Actions (inject an email, a text or a
call; approve a signup; advance the clock; clear faults; replay a delivery) are form
POSTs carrying a CSRF token. Pages refresh their live part when the emulator's state
changes (a small poll). Server-rendered Jinja2 templates, a little vanilla JavaScript,
no CDN: everything is package data.
"""

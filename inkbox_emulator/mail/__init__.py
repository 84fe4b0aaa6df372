"""Mail: mailboxes, messages, threads, delivery, sending, parsing, contact rules, domains and files."""

"""Agent identities: request parsing, records, operations and routes."""

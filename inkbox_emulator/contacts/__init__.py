"""Contacts: the address book, vCard, contact rules and notes."""

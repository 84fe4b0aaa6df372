"""Accounts: organizations, API keys, whoami, agent signup and handles."""

"""Webhooks: subscriptions, event fan-out and context, the dispatcher, signing and webhook tunnels."""

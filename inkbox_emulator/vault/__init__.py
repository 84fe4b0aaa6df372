"""The encrypted vault: keys, secrets and access rules (ciphertext only)."""

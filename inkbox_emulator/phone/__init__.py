"""Phone: numbers, texts, calls and call routing, contact rules, SMS opt-ins and the phone control API."""

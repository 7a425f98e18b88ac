"""The case workflow's activities: each does one external thing (an e-mail, a ledger write), idempotently."""

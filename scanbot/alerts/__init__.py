"""Channel alerts: the poll cycle (fetch -> diff -> outbox) and the sender (outbox -> Slack)."""

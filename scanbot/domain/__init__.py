"""The values every layer shares: scans, events and alerts, threads and their triage,
severity's one order, subscriptions, the outbox. Pure: no I/O, and nothing of scanbot but
`hostedscan.models` below it."""

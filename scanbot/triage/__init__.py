"""On-call triage in alert threads: acknowledge, assign, snooze, mute, risks, reports."""

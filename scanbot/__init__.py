"""scanbot: HostedScan in Slack: slash commands, channel alerts and on-call triage."""

__version__ = "0.1.0"

"""Acting on HostedScan from Slack: start and re-run scans, add targets, make reports, with
permissions, a confirmation, a per-user limit and an audit trail."""

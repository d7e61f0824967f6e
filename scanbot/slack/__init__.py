"""Everything scanbot shows in Slack: pure Block Kit renderers, button ids, and the listeners."""

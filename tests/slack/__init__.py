"""Tests of the Slack renderers, and a Block Kit checker other tests reuse."""

"""Pure domain logic about scans: command parsing, listings, (later) snapshot diffing."""

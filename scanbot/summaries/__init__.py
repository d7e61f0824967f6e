"""Scheduled posture summaries: the commands that set them (commands), what one says
(compute, pure), its trend chart (chart), when each is due (schedule), and the job that
records the daily counts and queues each period once (service)."""

"""Recurring schedules: reading a schedule request, deciding what is due with
the calendar core, and the materializer that turns occurrences into events."""

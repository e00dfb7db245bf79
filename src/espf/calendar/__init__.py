"""Calendar time: local times in IANA zones, recurring rules and their occurrences.

Pure functions only: nothing here reads the clock or touches a store, so every
daylight-saving decision is a documented rule with a test (docs/calendar.md).
Instants are integer milliseconds since the Unix epoch, like everywhere in espf.
"""

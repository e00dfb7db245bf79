"""Applications built on espf.client and espf.receiver (run with ``python -m examples.<name>``)."""

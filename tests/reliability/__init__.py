"""Reliability: idempotency, retries, duplicate and bad events, failing compensations, redrive and
the failure-injection matrix generated from each saga."""

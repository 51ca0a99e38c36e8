"""Reliability tests that run sagas through the offline stack (one deployment for the package)."""

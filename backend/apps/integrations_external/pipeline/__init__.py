"""The provider-neutral pipeline: events, routing, channels, the delivery engine and its tasks.
It knows no provider: each provider registers its channel (tests/test_layout.py checks it)."""

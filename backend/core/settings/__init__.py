"""Settings modules: `base` (every deployment, configured by environment) and `test`."""

"""Shared outbound plumbing: named errors, client defaults, Retry-After, the SSRF guard and the
guarded httpx transport, Standard Webhooks signing."""

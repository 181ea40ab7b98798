"""What every outgoing client shares: the product's User-Agent and a default timeout."""

from __future__ import annotations

import httpx

USER_AGENT = "IntegrationsHub/1.0 (+workflow platform webhooks)"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

"""The one place that reads the process environment.

Every setting the system takes from outside is read here, with a safe embedded default, so
`make run` works on a fresh machine and production is configured by environment alone.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent  # backend/
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", PROJECT_DIR / "var")).resolve()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env_str(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """Django's SECURE_PROXY_SSL_HEADER from `Header-Name=value` (value `https` when left out),
    e.g. `X-Forwarded-Proto=https`; None when unset."""
    value = env_str(name)
    if not value:
        return None
    header, _, expected = value.partition("=")
    header, expected = header.strip(), expected.strip() or "https"
    if not header or not all(c.isalnum() or c in "-_" for c in header):
        raise ImproperlyConfigured(
            f"{name} must be a header name and its value, e.g. X-Forwarded-Proto=https"
        )
    meta_key = header.upper().replace("-", "_")
    if not meta_key.startswith("HTTP_"):
        meta_key = "HTTP_" + meta_key
    return meta_key, expected


def var_path(*parts: str) -> Path:
    path = VAR_DIR.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def metrics_dir() -> Path:
    """Where prometheus-client's processes (gunicorn and Celery workers) keep their counters,
    one file per process, summed at scrape time. Default: var/prometheus."""
    return Path(env_str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))).resolve()


def reset_metrics_dir() -> Path:
    """Empty the metrics folder: run once before any process of a deployment starts (`make run`
    does), never while processes write into it; dead processes' files would add up forever."""
    import shutil

    path = metrics_dir()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


def generated_secret(name: str, filename: str, factory, *, allowed: bool) -> str:
    """Return env var `name`, else a value generated once into var/`filename`.

    Generation is only `allowed` for the embedded (local) set-up; production must set the
    variable, so a missing secret fails loudly instead of silently changing between hosts.
    """
    value = env_str(name)
    if value:
        return value
    path = var_path(filename)
    if path.exists():
        return path.read_text().strip()
    if not allowed:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")
    value = factory()
    # Exclusive create: two processes starting together must agree on one value.
    try:
        with open(path, "x") as fh:
            fh.write(value)
        path.chmod(0o600)
    except FileExistsError:
        value = path.read_text().strip()
    return value


def random_secret_key() -> str:
    return secrets.token_urlsafe(50)


def random_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()

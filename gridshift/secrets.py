"""Secrets come from the environment or from a file named by `<NAME>_FILE`; never logged."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

ENTSOE_API_KEY = "ENTSOE_API_KEY"
ELECTRICITYMAPS_TOKEN = "ELECTRICITYMAPS_TOKEN"
WEBHOOK_TOKEN = "GRIDSHIFT_WEBHOOK_TOKEN"


class SecretError(Exception):
    """A secret was named but could not be read. The message never contains the secret."""


@dataclass(frozen=True)
class Secret:
    """A secret value that does not show itself in reprs, logs or tracebacks."""

    value: str = ""

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


def read_secret(name: str, env: Mapping[str, str] | None = None) -> Secret | None:
    """`NAME` wins over `NAME_FILE`; both absent (or empty) is None."""
    env = os.environ if env is None else env
    direct = env.get(name, "").strip()
    if direct:
        return Secret(direct)
    path = env.get(f"{name}_FILE", "").strip()
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            value = handle.read().strip()
    except OSError as error:
        raise SecretError(f"{name}_FILE={path}: cannot read the file ({error.strerror})") from None
    if not value:
        raise SecretError(f"{name}_FILE={path}: the file is empty")
    return Secret(value)


def redact(text: str, *secrets: Secret | None) -> str:
    """Replace every occurrence of the given secrets in `text` (URLs in error messages carry them)."""
    for secret in secrets:
        if secret and secret.value:
            text = text.replace(secret.value, "***")
    return text


# Loggers of libraries that print request URLs (query strings carry ENTSO-E's token).
URL_LOGGERS = ("urllib3.connectionpool", "entsoe", "entsoe.entsoe", "requests")
_TOKEN_PARAMETER = re.compile(r"(securityToken|token|auth-token)=[^&\s\"']+", re.IGNORECASE)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets and token parameters masked."""

    def __init__(self, *secrets: Secret | None) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _TOKEN_PARAMETER.sub(r"\1=***", redact(message, *self.secrets))
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def redact_library_logs(*secrets: Secret | None) -> None:
    """Mask secrets in the records of libraries that log request URLs, at any level."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) and f.secrets == secrets for f in logger.filters):
            logger.addFilter(RedactingFilter(*secrets))

"""Secrets come from the environment or from a file named by `<NAME>_FILE`; never logged."""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import Mapping

ENTSOE_API_KEY = "ENTSOE_API_KEY"
ELECTRICITYMAPS_TOKEN = "ELECTRICITYMAPS_TOKEN"
WEBHOOK_TOKEN = "GRIDSHIFT_WEBHOOK_TOKEN"

log = logging.getLogger(__name__)


class SecretError(Exception):
    """A secret was named but could not be read. The message never contains the secret."""


class Secret:
    """A secret value that does not show itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    @property
    def value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self.value.encode(), other.value.encode())

    def __hash__(self) -> int:
        return hash(self.value)


class FileSecret(Secret):
    """A secret read from a file, read again when the file changes (a Secret volume that Argo CD
    or a rotation rewrites): the new value is used from the next read on, the old one no longer.
    A file that becomes unreadable or empty keeps the last value, with a warning."""

    __slots__ = ("_path", "_seen", "_name")

    def __init__(self, name: str, path: str) -> None:
        super().__init__(_read_file(name, path))
        self._name, self._path = name, path
        self._seen = _stamp(path)

    @property
    def value(self) -> str:
        stamp = _stamp(self._path)
        if stamp != self._seen:
            self._seen = stamp
            try:
                self._value = _read_file(self._name, self._path)
                log.info("%s_FILE changed: the new value is in use", self._name)
            except SecretError as error:
                log.warning("%s; the last value read stays in use", error)
        return self._value


def _stamp(path: str) -> tuple[float, int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime, status.st_size, status.st_ino)


def _read_file(name: str, path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            value = handle.read().strip()
    except OSError as error:
        raise SecretError(f"{name}_FILE={path}: cannot read the file ({error.strerror})") from None
    if not value:
        raise SecretError(f"{name}_FILE={path}: the file is empty")
    return value


def read_secret(name: str, env: Mapping[str, str] | None = None) -> Secret | None:
    """`NAME` wins over `NAME_FILE`; both absent (or empty) is None. A file's secret follows the file."""
    env = os.environ if env is None else env
    direct = env.get(name, "").strip()
    if direct:
        return Secret(direct)
    path = env.get(f"{name}_FILE", "").strip()
    if not path:
        return None
    return FileSecret(name, path)


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

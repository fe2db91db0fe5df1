"""The OpenAI admin key: where it is read from, and that it never leaks.

Owns `get_admin_key(settings)`. Sources, first match wins:

1. `OPENAI_ADMIN_KEY` in the environment (local use, tests, the simulator);
2. the Secrets Manager secret named by `OPENAI_ADMIN_KEY_SECRET` (`settings.admin_key_secret_name`):
   the bare key, or a JSON object with an `OPENAI_ADMIN_KEY` field (the console's key/value form);
3. the SSM SecureString parameter named by `OPENAI_ADMIN_KEY_PARAMETER`
   (`settings.admin_key_parameter_name`), decrypted.

AWS reads go through powertools parameters, which create their boto3 clients themselves (so the
standard `AWS_ENDPOINT_URL*` variables apply) and cache values for `MAX_AGE_SECONDS` per container.
Every failure is a `ConfigError` whose message names the source but never carries the key; the key
is registered with `observability.register_secret` so that no log line can show it either.
"""

from __future__ import annotations

import json
import os

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from chalicelib.errors import ConfigError
from chalicelib.observability import logger, register_secret
from chalicelib.settings import ADMIN_KEY, Settings

ENV_VAR = ADMIN_KEY.variable
SECRET_ENV_VAR = "OPENAI_ADMIN_KEY_SECRET"  # noqa: S105 - the variable's name, not a secret
PARAMETER_ENV_VAR = "OPENAI_ADMIN_KEY_PARAMETER"
JSON_FIELD = "OPENAI_ADMIN_KEY"
MAX_AGE_SECONDS = 300


def get_admin_key(settings: Settings, *, refresh: bool = False) -> str:
    """The admin key from the first configured source; `refresh` bypasses the 5-minute cache
    (for one retry after OpenAI rejects a key that may just have been rotated)."""
    local = os.environ.get(ENV_VAR, "")
    if local.strip():
        return _checked(local, f"the {ENV_VAR} variable", f"export {ENV_VAR}=<key>")
    if settings.admin_key_secret_name:
        name = settings.admin_key_secret_name
        where = f"the admin key secret {name!r}"
        try:
            value: object = parameters.get_secret(name, max_age=MAX_AGE_SECONDS, force_fetch=refresh)
        except GetParameterError as exc:
            raise ConfigError(
                f"{where} could not be read ({_reason(exc)}): check {SECRET_ENV_VAR}, the region, and "
                "that the function's role may secretsmanager:GetSecretValue on it"
            ) from exc
        how = f"aws secretsmanager put-secret-value --secret-id {name} --secret-string file://key.txt"
        return _checked(_unwrap_json(_text(value, where), where), where, how)
    if settings.admin_key_parameter_name:
        name = settings.admin_key_parameter_name
        where = f"the admin key parameter {name!r}"
        try:
            value = parameters.get_parameter(name, decrypt=True, max_age=MAX_AGE_SECONDS, force_fetch=refresh)
        except GetParameterError as exc:
            raise ConfigError(
                f"{where} could not be read ({_reason(exc)}): check {PARAMETER_ENV_VAR}, the region, "
                "and that the function's role may ssm:GetParameter and kms:Decrypt on it"
            ) from exc
        how = f"aws ssm put-parameter --name {name} --type SecureString --overwrite --value file://key.txt"
        return _checked(_text(value, where), where, how)
    raise ConfigError(
        "no OpenAI admin key is configured: set one of "
        f"{ENV_VAR} (the key itself, for local use), "
        f"{SECRET_ENV_VAR} (the name of a Secrets Manager secret holding it) or "
        f"{PARAMETER_ENV_VAR} (the name of an SSM SecureString parameter holding it)"
    )


def clear_cache() -> None:
    """Forget the cached values and the powertools clients (tests, or after pointing AWS elsewhere)."""
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # powertools leaves it unannotated


def _reason(exc: GetParameterError) -> str:
    # powertools wraps the boto3 error without chaining it explicitly; it is the implicit context.
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", "ClientError"))
    return type(cause).__name__ if cause is not None else type(exc).__name__


def _text(value: object, where: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{where} is binary, not UTF-8 text: store the key as a string") from None
    if isinstance(value, str):
        return value
    raise ConfigError(f"{where} returned an unexpected {type(value).__name__}")


def _unwrap_json(text: str, where: str) -> str:
    """The key itself, or its JSON_FIELD when the secret is a JSON object (no key starts with "{")."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        document = json.loads(text)
    except ValueError:
        # `from None`: the decoder's message quotes the secret's text.
        raise ConfigError(f"{where} looks like JSON but does not parse: store the bare key") from None
    field = document.get(JSON_FIELD) if isinstance(document, dict) else None
    if not isinstance(field, str):
        raise ConfigError(
            f"{where} is a JSON object without a string field {JSON_FIELD!r}: add it, or store the bare key"
        )
    return field


def _checked(raw: str, where: str, how: str) -> str:
    key = raw.strip()
    if not key:
        raise ConfigError(f"{where} is empty: put the key with `{how}`")
    # A space or control character would end up in an HTTP header error that quotes the value.
    if any(char.isspace() or not char.isprintable() for char in key):
        raise ConfigError(f"{where} contains whitespace or control characters: put the bare key with `{how}`")
    register_secret(key)
    logger.debug("admin key loaded", extra={"admin_key_source": where})
    return key

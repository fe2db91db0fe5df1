"""The admin key from the environment, Secrets Manager or SSM (moto server), and never in a message."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest

from chalicelib import secrets
from chalicelib.errors import ConfigError
from chalicelib.observability import forget_secrets, logger
from chalicelib.settings import Settings, load_settings
from devstack import LocalStack


def new_key() -> str:
    """A realistic admin key no other test uses."""
    return f"sk-admin-{uuid.uuid4().hex}{uuid.uuid4().hex}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """Everything the tracker's logger writes during the test (DEBUG included)."""
    handler = logger.registered_handler
    assert hasattr(handler, "setStream")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        yield stream
    finally:
        logger.setLevel(level)
        handler.setStream(previous)


@pytest.fixture
def aws(local_aws: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The moto server, no local key, and powertools' providers and cache made fresh around the test
    (they keep a boto3 client and values per process)."""
    monkeypatch.delenv(secrets.ENV_VAR, raising=False)
    secrets.clear_cache()
    yield
    secrets.clear_cache()
    forget_secrets()


def settings_with(secret: str = "", parameter: str = "") -> Settings:
    return replace(load_settings(), admin_key_secret_name=secret, admin_key_parameter_name=parameter)


def put_secret(value: str | bytes) -> str:
    name = unique("openai-admin-key")
    client = boto3.client("secretsmanager")
    if isinstance(value, bytes):
        client.create_secret(Name=name, SecretBinary=value)
    else:
        client.create_secret(Name=name, SecretString=value)
    return name


def put_parameter(value: str) -> str:
    name = f"/openai-usage-tracker/test/{uuid.uuid4().hex[:12]}/admin-key"
    boto3.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString")
    return name


def test_the_environment_variable_wins_over_aws(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    local_key = new_key()
    monkeypatch.setenv(secrets.ENV_VAR, f" {local_key}\n")
    settings = settings_with(secret=put_secret(new_key()), parameter=put_parameter(new_key()))
    assert secrets.get_admin_key(settings) == local_key


def test_the_key_is_read_from_secrets_manager(aws: None) -> None:
    key = new_key()
    assert secrets.get_admin_key(settings_with(secret=put_secret(f"{key}\n"))) == key


def test_a_json_secret_gives_its_openai_admin_key_field(aws: None) -> None:
    key = new_key()
    name = put_secret(json.dumps({"OPENAI_ADMIN_KEY": key, "note": "rotated monthly"}))
    assert secrets.get_admin_key(settings_with(secret=name)) == key


def test_a_binary_secret_is_read_as_utf8(aws: None) -> None:
    key = new_key()
    assert secrets.get_admin_key(settings_with(secret=put_secret(key.encode()))) == key


def test_the_secret_wins_over_the_parameter(aws: None) -> None:
    key = new_key()
    settings = settings_with(secret=put_secret(key), parameter=put_parameter(new_key()))
    assert secrets.get_admin_key(settings) == key


def test_the_key_is_read_from_an_ssm_securestring(aws: None) -> None:
    key = new_key()
    assert secrets.get_admin_key(settings_with(parameter=put_parameter(key))) == key


def test_the_value_is_cached_until_a_refresh(aws: None) -> None:
    first, second = new_key(), new_key()
    name = put_secret(first)
    settings = settings_with(secret=name)
    assert secrets.get_admin_key(settings) == first
    boto3.client("secretsmanager").put_secret_value(SecretId=name, SecretString=second)
    assert secrets.get_admin_key(settings) == first  # within max_age: no second AWS call
    assert secrets.get_admin_key(settings, refresh=True) == second


def test_no_source_is_a_config_error_naming_all_three(aws: None) -> None:
    with pytest.raises(ConfigError) as raised:
        secrets.get_admin_key(settings_with())
    message = str(raised.value)
    for option in ("OPENAI_ADMIN_KEY", "OPENAI_ADMIN_KEY_SECRET", "OPENAI_ADMIN_KEY_PARAMETER"):
        assert option in message


def test_an_empty_secret_says_how_to_put_the_key(aws: None) -> None:
    name = put_secret("  \n")
    with pytest.raises(ConfigError, match=f"the admin key secret '{name}' is empty") as raised:
        secrets.get_admin_key(settings_with(secret=name))
    assert f"put-secret-value --secret-id {name}" in str(raised.value)


def test_an_empty_parameter_says_how_to_put_the_key(aws: None) -> None:
    name = put_parameter(" ")
    with pytest.raises(ConfigError, match="is empty") as raised:
        secrets.get_admin_key(settings_with(parameter=name))
    assert f"put-parameter --name {name}" in str(raised.value)


def test_a_missing_secret_names_the_aws_error_code(aws: None) -> None:
    name = unique("no-such-secret")
    with pytest.raises(ConfigError, match="ResourceNotFoundException") as raised:
        secrets.get_admin_key(settings_with(secret=name))
    assert name in str(raised.value)


def test_a_missing_parameter_names_the_aws_error_code(aws: None) -> None:
    with pytest.raises(ConfigError, match="ParameterNotFound"):
        secrets.get_admin_key(settings_with(parameter=f"/no/such/{uuid.uuid4().hex}"))


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ('{"api_key": "KEY"}', "without a string field 'OPENAI_ADMIN_KEY'"),
        ('{"OPENAI_ADMIN_KEY": "KEY"', "does not parse"),  # the decoder's own message would quote it
        ("KEY trailing-words", "whitespace or control characters"),
        ("KEY\u0000", "whitespace or control characters"),
    ],
)
def test_a_malformed_secret_is_refused_without_quoting_it(
    aws: None, log_text: io.StringIO, stored: str, reason: str
) -> None:
    key = new_key()
    name = put_secret(stored.replace("KEY", key))
    with pytest.raises(ConfigError, match=reason) as raised:
        secrets.get_admin_key(settings_with(secret=name))
    chain: BaseException | None = raised.value
    while chain is not None:  # neither the error nor anything it chains to quotes the value
        assert key not in str(chain)
        chain = chain.__cause__ or chain.__context__
    assert key not in log_text.getvalue()


def test_the_loaded_key_never_reaches_a_log_line(aws: None, log_text: io.StringIO) -> None:
    # A key of a shape the pattern would miss: only registration can mask it.
    key = f"simulator-{uuid.uuid4().hex}"
    loaded = secrets.get_admin_key(settings_with(secret=put_secret(key)))
    logger.info(f"oops, a careless line with {loaded}", extra={"key": loaded})
    output = log_text.getvalue()
    assert "admin key loaded" in output  # the debug line names the source...
    assert key not in output  # ...and nothing shows the key itself

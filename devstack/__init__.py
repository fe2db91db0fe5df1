"""The local development stack (not deployed): DynamoDB Local + moto server, and `make demo`.

    from devstack import LocalStack, exported_env

    with LocalStack() as stack, exported_env(stack.env()):
        ...  # boto3 clients now talk to DynamoDB Local and moto

process    ManagedProcess: a child in its own process group, polled until ready, stopped as a group
stack      LocalStack: the two AWS servers on free loopback ports, and the env vars that point at them
demo       `make demo`: the stack, the OpenAI simulator, `init`, and later the collector, API, dashboard
dashboard  `python -m devstack.dashboard`: frontend/ served as the published site would be
"""

from devstack.process import (
    DevstackError,
    ManagedProcess,
    StartupError,
    free_port,
    group_exists,
    http_answers,
    stop_all,
)
from devstack.stack import (
    UNSET_VARS,
    Endpoints,
    LocalStack,
    exported_env,
    fake_credentials,
    find_dynamodb_local,
)

__all__ = [
    "UNSET_VARS",
    "DevstackError",
    "Endpoints",
    "LocalStack",
    "ManagedProcess",
    "StartupError",
    "exported_env",
    "fake_credentials",
    "find_dynamodb_local",
    "free_port",
    "group_exists",
    "http_answers",
    "stop_all",
]

"""Read a CloudFormation YAML template into plain data, short-form tags turned into long form.

`!Ref X` becomes `{"Ref": "X"}`, `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}`, every other
`!Fn` becomes `{"Fn::Fn": ...}`: the JSON form CloudFormation and `chalice package` accept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_FUNCTIONS = (
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join", "Not",
    "Or", "Select", "Split", "Sub", "Transform", "Condition",
)  # fmt: skip


class _Loader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's tags."""


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": _node_value(loader, node)}


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


def _function(name: str) -> Any:
    key = "Condition" if name == "Condition" else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _node_value(loader, node)}

    return construct


_Loader.add_constructor("!Ref", _ref)
_Loader.add_constructor("!GetAtt", _get_att)
for _name in _FUNCTIONS:
    _Loader.add_constructor(f"!{_name}", _function(_name))


def loads(text: str) -> dict[str, Any]:
    """Parse a template's text."""
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader with CloudFormation tags
    if not isinstance(data, dict):
        raise ValueError("a CloudFormation template is a mapping")
    return data


def load(path: Path) -> dict[str, Any]:
    """Parse a template file."""
    return loads(path.read_text(encoding="utf-8"))

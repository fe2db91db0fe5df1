"""chalicelib.errors is the one exception tree: no other module defines an exception of its own, and
the tree drawn in its docstring is the tree of classes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import chalicelib
from chalicelib import errors


def _modules() -> list[str]:
    # __main__ modules run a program when imported
    return [
        info.name
        for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib.")
        if not info.name.endswith("__main__")
    ]


def test_every_exception_class_of_chalicelib_lives_in_errors():
    defined_elsewhere = []
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and name != errors.__name__
            ):
                defined_elsewhere.append(f"{name}.{value.__name__}")
    assert defined_elsewhere == []


def test_the_docstring_tree_names_every_class_under_its_parent():
    classes = {
        value.__name__: value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, errors.TrackerError)
    }
    tree = (errors.__doc__ or "").split("\n\n")[1].splitlines()
    drawn: dict[str, int] = {}  # name -> depth in the drawing (4 columns a level)
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in tree:
        match = re.search(r"[A-Za-z]\w*", line)
        if match is None or match.group() not in classes:
            continue  # a description's continuation line
        name, depth = match.group(), match.start() // 4
        drawn[name] = depth
        del stack[depth:]
        if stack:
            parents[name] = stack[-1]
        stack.append(name)
    assert set(drawn) == set(classes)
    assert len(parents) == len(classes) - 1  # all but TrackerError hang under a parent
    for name, parent in parents.items():
        assert classes[name].__bases__[0] is classes[parent], name

"""The constructors declared for type checkers (client/forms.py) keep up with the models: each names
every field, in order, so a field added to a model cannot be missing from what mypy and pyright
accept (tests/typing runs them over user code)."""

from __future__ import annotations

import ast
import inspect

import pytest
from pydantic import BaseModel

from airflow_provider_kontinue.client import models, options

DECLARED = {
    models: ["ExecutionRetry", "ExecutionTimeout", "ExecutionTTL"],
    options: ["SpawnOptions", "ListOptions", "RetryOptions"],
}


def _declared_init(model: type[BaseModel]) -> ast.FunctionDef:
    tree = ast.parse(inspect.getsource(model).lstrip())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for child in node.body:
                if isinstance(child, ast.FunctionDef) and child.name == "__init__":
                    return child
    raise AssertionError(f"{model.__name__} declares no __init__ for type checkers")


@pytest.mark.parametrize(
    "model", [getattr(module, name) for module, names in DECLARED.items() for name in names], ids=str
)
def test_the_typed_constructor_names_every_field_keyword_only(model: type[BaseModel]) -> None:
    init = _declared_init(model)
    assert [arg.arg for arg in init.args.args] == ["self"]
    assert [arg.arg for arg in init.args.kwonlyargs] == list(model.model_fields)

"""The behaviour scripts' template language: ``{{ expression }}`` over arguments and results, no eval.

A string value in a script may contain ``{{ ... }}`` parts. When the whole string is one such part,
the value keeps the expression's JSON type (``"{{ args.count }}"`` is the integer 3, not ``"3"``);
otherwise each part is rendered as text into the string. Objects and lists are rendered member by
member.

Expressions (a small, closed language, parsed here, never handed to ``eval``):

- literals: ``3``, ``2.5``, ``'text'`` or ``"text"``, ``true``, ``false``, ``null``, ``[1, 2]``;
- names: ``args``, ``results``, ``attempt``, ``execution``, ``namespace``, ``function``, ``i``
  (the index inside a repeated step), then ``.field`` and ``[index]`` lookups;
- operators, by increasing precedence: ``or``; ``and``; ``not``; comparisons ``== != < <= > >=``;
  ``+ -``; ``* / // %``; unary ``-``;
- functions: ``len sum min max abs round int float str upper lower join range default keys``.
  ``default(x, y)`` is ``y`` when ``x`` is missing or null, the only way to read an optional name.

Anything else (an unknown name, a missing field, adding a string to a number, a huge range) is a
``TemplateError`` naming the template, which fails the step that evaluated it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_RANGE = 10_000
MAX_TEXT = 1_000_000


class TemplateError(ValueError):
    """A template that does not parse, or an expression that cannot be evaluated."""


class _Missing:
    """What a lookup of an absent name or field gives; only ``default`` accepts it."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()

# --- lexer ----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+\.\d+|\d+)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|<=|>=|//|[-+*/%<>()\[\],.])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: str


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise TemplateError(f"unexpected character {text[pos:].strip()[:1]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append(_Tok(kind, match.group(kind)))
        pos = match.end()
    tokens.append(_Tok("end", ""))
    return tokens


# --- AST ------------------------------------------------------------------------------------------

Node = tuple[Any, ...]
"""("lit", value) | ("name", n) | ("attr", node, n) | ("index", node, node) | ("call", n, [nodes])
| ("unary", op, node) | ("binary", op, left, right) | ("list", [nodes])"""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> _Tok:
        return self.tokens[self.pos]

    def take(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok.kind in ("op", "name") and tok.value == value:
            self.pos += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            found = self.peek().value or "the end"
            raise TemplateError(f"expected {value!r} but found {found!r} in {self.text!r}")

    def parse(self) -> Node:
        node = self.or_()
        if self.peek().kind != "end":
            raise TemplateError(f"unexpected {self.peek().value!r} in {self.text!r}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("or"):
            node = ("binary", "or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("and"):
            node = ("binary", "and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("not"):
            return ("unary", "not", self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        tok = self.peek()
        if tok.kind == "op" and tok.value in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            node = ("binary", tok.value, node, self.additive())
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.peek().kind == "op" and self.peek().value in ("+", "-"):
            node = ("binary", self.take().value, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().value in ("*", "/", "//", "%"):
            node = ("binary", self.take().value, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-"):
            return ("unary", "-", self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.accept("."):
                tok = self.take()
                if tok.kind != "name":
                    raise TemplateError(f"expected a field name after '.' in {self.text!r}")
                node = ("attr", node, tok.value)
            elif self.accept("["):
                node = ("index", node, self.or_())
                self.expect("]")
            else:
                return node

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return ("lit", float(tok.value) if "." in tok.value else int(tok.value))
        if tok.kind == "string":
            return ("lit", _unquote(tok.value))
        if tok.kind == "name":
            if tok.value in ("true", "false", "null"):
                return ("lit", {"true": True, "false": False, "null": None}[tok.value])
            if tok.value in ("and", "or", "not"):
                raise TemplateError(f"unexpected {tok.value!r} in {self.text!r}")
            if self.accept("("):
                args: list[Node] = []
                if not self.accept(")"):
                    args.append(self.or_())
                    while self.accept(","):
                        args.append(self.or_())
                    self.expect(")")
                if tok.value not in _FUNCTIONS and tok.value != "default":
                    raise TemplateError(f"unknown function {tok.value!r} in {self.text!r}")
                return ("call", tok.value, args)
            return ("name", tok.value)
        if tok.kind == "op" and tok.value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if tok.kind == "op" and tok.value == "[":
            items: list[Node] = []
            if not self.accept("]"):
                items.append(self.or_())
                while self.accept(","):
                    items.append(self.or_())
                self.expect("]")
            return ("list", items)
        raise TemplateError(f"unexpected {tok.value or 'end'!r} in {self.text!r}")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


# --- evaluation -----------------------------------------------------------------------------------


def _number(value: Any, what: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TemplateError(f"{what} needs a number, got {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    if value is MISSING:
        return "a missing value"
    return f"{type(value).__name__} {json.dumps(value, default=str)[:60]}"


def _sequence(value: Any, what: str) -> Sequence[Any]:
    if isinstance(value, (list, tuple)):
        return value
    raise TemplateError(f"{what} needs a list, got {_describe(value)}")


def _range(*args: Any) -> list[int]:
    numbers = [int(_number(a, "range")) for a in args]
    result = list(range(*numbers)) if len(numbers) <= 3 and numbers else None
    if result is None:
        raise TemplateError("range takes 1 to 3 numbers")
    if len(result) > MAX_RANGE:
        raise TemplateError(f"range of {len(result)} items is over the limit of {MAX_RANGE}")
    return result


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise TemplateError(f"int cannot read {value!r}") from None
    return int(_number(value, "int"))


def _to_float(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise TemplateError(f"float cannot read {value!r}") from None
    return float(_number(value, "float"))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": lambda x: len(x) if isinstance(x, (str, list, dict)) else _raise(f"len of {_describe(x)}"),
    "sum": lambda xs: sum(_number(x, "sum") for x in _sequence(xs, "sum")),
    "min": lambda *xs: min(_number(x, "min") for x in (_sequence(xs[0], "min") if len(xs) == 1 else xs)),
    "max": lambda *xs: max(_number(x, "max") for x in (_sequence(xs[0], "max") if len(xs) == 1 else xs)),
    "abs": lambda x: abs(_number(x, "abs")),
    "round": lambda x, n=0: (
        round(_number(x, "round"), int(_number(n, "round"))) if n else round(_number(x, "round"))
    ),
    "int": _to_int,
    "float": _to_float,
    "str": lambda x: to_text(x),
    "upper": lambda x: to_text(x).upper(),
    "lower": lambda x: to_text(x).lower(),
    "join": lambda xs, sep="": to_text(sep).join(to_text(x) for x in _sequence(xs, "join")),
    "range": _range,
    "keys": lambda x: sorted(x) if isinstance(x, dict) else _raise(f"keys of {_describe(x)}"),
}


def _raise(message: str) -> Any:
    raise TemplateError(message)


def to_text(value: Any) -> str:
    """How a value reads inside a larger string: JSON for everything but strings."""
    if value is MISSING:
        raise TemplateError("cannot render a missing value")
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _binary(op: str, left: Any, right: Any) -> Any:
    if left is MISSING or right is MISSING:
        raise TemplateError(f"operator {op!r} on a missing value")
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("<", "<=", ">", ">="):
        both_text = isinstance(left, str) and isinstance(right, str)
        if not both_text:
            _number(left, op)
            _number(right, op)
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    if op == "+":
        if isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > MAX_TEXT:
                raise TemplateError("string too long")
            return left + right
        if isinstance(left, list) and isinstance(right, list):
            return left + right
        return _number(left, "+") + _number(right, "+")
    a, b = _number(left, op), _number(right, op)
    if op == "-":
        return a - b
    if op == "*":
        result = a * b
        if isinstance(result, float) and not math.isfinite(result):
            raise TemplateError("number too large")
        return result
    if b == 0:
        raise TemplateError(f"division by zero ({op})")
    if op == "/":
        quotient = a / b
        return (
            int(quotient) if quotient.is_integer() and isinstance(a, int) and isinstance(b, int) else quotient
        )
    if op == "//":
        return a // b
    return a % b


def _truthy(value: Any) -> bool:
    if value is MISSING:
        raise TemplateError("condition on a missing value")
    return bool(value)


def _eval(node: Node, scope: Mapping[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "name":
        return scope.get(node[1], MISSING)
    if kind == "attr":
        base = _eval(node[1], scope)
        if isinstance(base, dict):
            return base.get(node[2], MISSING)
        return MISSING
    if kind == "index":
        base, key = _eval(node[1], scope), _eval(node[2], scope)
        if isinstance(base, list) and isinstance(key, int) and not isinstance(key, bool):
            return base[key] if -len(base) <= key < len(base) else MISSING
        if isinstance(base, dict) and isinstance(key, str):
            return base.get(key, MISSING)
        return MISSING
    if kind == "list":
        return [_checked(_eval(item, scope), "a list item") for item in node[1]]
    if kind == "unary":
        value = _eval(node[2], scope)
        if node[1] == "not":
            return not _truthy(value)
        return -_number(value, "unary -")
    if kind == "binary":
        op = node[1]
        if op == "and":
            left = _eval(node[2], scope)
            return _eval(node[3], scope) if _truthy(left) else left
        if op == "or":
            left = _eval(node[2], scope)
            return left if _truthy(left) else _eval(node[3], scope)
        return _binary(op, _eval(node[2], scope), _eval(node[3], scope))
    if kind == "call":
        name, arg_nodes = node[1], node[2]
        values = [_eval(a, scope) for a in arg_nodes]
        if name == "default":
            if len(values) != 2:
                raise TemplateError("default takes 2 arguments: default(value, fallback)")
            return values[1] if values[0] is MISSING or values[0] is None else values[0]
        for value in values:
            _checked(value, f"an argument of {name}")
        try:
            return _FUNCTIONS[name](*values)
        except TemplateError:
            raise
        except (TypeError, ValueError) as err:
            raise TemplateError(f"{name}: {err}") from None
    raise TemplateError(f"cannot evaluate {kind}")  # pragma: no cover - the parser makes no others


def _checked(value: Any, what: str) -> Any:
    if value is MISSING:
        raise TemplateError(f"{what} is missing")
    return value


# --- templates ------------------------------------------------------------------------------------

_PART = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class Expression:
    """One compiled ``{{ ... }}`` expression."""

    source: str
    node: Node

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        value = _eval(self.node, scope)
        if value is MISSING:
            raise TemplateError(f"{{{{{self.source}}}}}: {_missing_name(self.node)} is not defined")
        return value


def _missing_name(node: Node) -> str:
    if node[0] == "name":
        return str(node[1])
    if node[0] == "attr":
        return f"{_missing_name(node[1])}.{node[2]}"
    if node[0] == "index":
        return f"{_missing_name(node[1])}[...]"
    return "the value"


@dataclass(frozen=True)
class Template:
    """A string with ``{{ }}`` parts, compiled once."""

    source: str
    literals: tuple[str, ...]
    expressions: tuple[Expression, ...]

    @property
    def is_single(self) -> bool:
        return len(self.expressions) == 1 and not self.literals[0].strip() and not self.literals[1].strip()

    def render(self, scope: Mapping[str, Any]) -> Any:
        if not self.expressions:
            return self.source
        if self.is_single:
            return self.expressions[0].evaluate(scope)
        out = [self.literals[0]]
        for expression, literal in zip(self.expressions, self.literals[1:], strict=True):
            out.append(to_text(expression.evaluate(scope)))
            out.append(literal)
        text = "".join(out)
        if len(text) > MAX_TEXT:
            raise TemplateError("rendered text too long")
        return text


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    """Compile a string with ``{{ }}`` parts; raises ``TemplateError`` on a syntax error."""
    literals: list[str] = []
    expressions: list[Expression] = []
    pos = 0
    for match in _PART.finditer(source):
        literals.append(source[pos : match.start()])
        inner = match.group(1).strip()
        if not inner:
            raise TemplateError(f"empty {{{{ }}}} in {source!r}")
        expressions.append(Expression(inner, _Parser(inner).parse()))
        pos = match.end()
    literals.append(source[pos:])
    if any("{{" in literal for literal in literals):
        raise TemplateError(f"unclosed {{{{ in {source!r}")
    return Template(source, tuple(literals), tuple(expressions))


def check(value: Any) -> None:
    """Compile every template inside ``value`` (a JSON value), raising on the first bad one."""
    if isinstance(value, str):
        compile_template(value)
    elif isinstance(value, dict):
        for item in value.values():
            check(item)
    elif isinstance(value, list):
        for item in value:
            check(item)


def render(value: Any, scope: Mapping[str, Any]) -> Any:
    """Render every template inside a JSON value; other values are returned unchanged (copied)."""
    if isinstance(value, str):
        return compile_template(value).render(scope)
    if isinstance(value, dict):
        return {key: render(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope) for item in value]
    return value


def evaluate(expression: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate a bare expression (``when:`` conditions may be written without braces)."""
    source = expression.strip()
    if source.startswith("{{") and source.endswith("}}"):
        return compile_template(source).render(scope)
    return Expression(source, _compile_expression(source)).evaluate(scope)


@lru_cache(maxsize=1024)
def _compile_expression(source: str) -> Node:
    return _Parser(source).parse()


def check_expression(expression: str) -> None:
    source = expression.strip()
    if source.startswith("{{") and source.endswith("}}"):
        compile_template(source)
    else:
        _compile_expression(source)

"""Write ``api.md``: every public call of both flavours, with its signature and summary.

Usage: ``python codegen/api_docs.py`` rewrites ``api.md``; ``--check`` rewrites
nothing and exits 1 when the file is not what the code produces.

What is listed, per flavour: the client (``AsyncInkbox`` / ``Inkbox``), every
resource reachable from it or from an identity as an attribute
(``inkbox.webhooks.subscriptions``, ``identity.credentials``...), the identity
(``AsyncAgentIdentity`` / ``AgentIdentity``), the other I/O classes the package
exports (``AsyncTunnelListener`` / ``TunnelListener``...) and its module-level
functions. Each class lists its public methods and properties in name order:
the signature as the code spells it, then the first line of its docstring.
Surfaces are grouped by where a user meets them, the two flavours side by side.
"""

from __future__ import annotations

import argparse
import ast
import enum
import functools
import importlib
import inspect
import pkgutil
import sys
import textwrap
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "api.md"


class Flavour:
    """One package's entry points: its client, identity and the prefix of its I/O classes."""

    def __init__(self, package: str, client: str, identity: str, prefix: str) -> None:
        self.module: ModuleType = importlib.import_module(package)
        self.package = package
        self.client: type = getattr(self.module, client)
        self.identity: type = getattr(self.module, identity)
        self.prefix = prefix
        self.classes: dict[str, type] = {}
        for root in dict.fromkeys((package, "inkbox_async")):
            path = importlib.import_module(root).__path__
            for info in pkgutil.walk_packages(path, root + "."):
                module = importlib.import_module(info.name)
                for name, value in vars(module).items():
                    if isinstance(value, type) and self.owns(value) and value.__name__ == name:
                        self.classes.setdefault(name, value)

    def resolve(self, annotation: object) -> object:
        """A return annotation written as a string (a name imported for type checking only)."""
        if not isinstance(annotation, str):
            return annotation
        return self.classes.get(annotation.strip("'\""))

    def owns(self, cls: type) -> bool:
        """Defined by this flavour, or a flavourless class of the async package both share."""
        package = cls.__module__.split(".")[0]
        shared = package == "inkbox_async" and not cls.__name__.startswith("Async")
        return package == self.package or shared

    def exported(self) -> dict[str, Any]:
        return {name: getattr(self.module, name) for name in sorted(self.module.__all__)}


def flavours() -> tuple[Flavour, Flavour]:
    sys.path.insert(0, str(ROOT))
    return (
        Flavour("inkbox_async", "AsyncInkbox", "AsyncAgentIdentity", "Async"),
        Flavour("inkbox_sync", "Inkbox", "AgentIdentity", ""),
    )


def public_members(cls: type) -> Iterator[tuple[str, Any]]:
    """(name, static attribute) of every public method and property, in name order."""
    for name in sorted(dir(cls)):
        if name == "__init__":
            if inspect.getattr_static(cls, name) is not object.__init__:
                yield name, inspect.getattr_static(cls, name)
            continue
        if name.startswith("_") or any(name in vars(base) for base in (object, enum.Enum)):
            continue
        member = inspect.getattr_static(cls, name)
        if isinstance(member, functools.cached_property):
            yield name, property(member.func, doc=member.__doc__)
        elif isinstance(member, property | staticmethod | classmethod) or inspect.isfunction(
            member
        ):
            yield name, member


def instance_resources(cls: type, flavour: Flavour) -> list[tuple[str, type, str]]:
    """(name, class, summary) of each ``self.name = Resource(...)`` in the class's ``__init__``."""
    found: list[tuple[str, type, str]] = []
    init = vars(cls).get("__init__")
    if init is None or not inspect.isfunction(init):
        return found
    tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    statements = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)).body
    for index, statement in enumerate(statements):
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(target := statement.targets[0], ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
            and not target.attr.startswith("_")
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name)
        ):
            continue
        resource = flavour.classes.get(statement.value.func.id)
        if resource is None:
            continue
        following = statements[index + 1] if index + 1 < len(statements) else None
        doc = ""
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            doc = inspect.cleandoc(following.value.value).splitlines()[0]
        found.append((target.attr, resource, doc))
    return sorted(found, key=lambda item: item[0])


def resource_type(prop: property, flavour: Flavour) -> type | None:
    """The class a property returns when it is a resource of the flavour (else None)."""
    getter = prop.fget
    if getter is None:
        return None
    try:
        returned = typing.get_type_hints(getter).get("return")
    except NameError:
        returned = flavour.resolve(getter.__annotations__.get("return"))
    return returned if isinstance(returned, type) and is_resource(returned, flavour) else None


def is_resource(cls: type, flavour: Flavour) -> bool:
    """A class of the flavour with calls: not a model, an enum or an exception."""
    return (
        flavour.owns(cls)
        and not issubclass(cls, BaseException | enum.Enum)
        and not hasattr(cls, "__attrs_attrs__")
        and (
            any(name != "__init__" for name, _ in public_members(cls))
            or bool(instance_resources(cls, flavour))
        )
    )


def surfaces(flavour: Flavour, roots: set[str]) -> dict[str, type]:
    """Where a user meets each class (``inkbox.mailboxes``...) → the class, in discovery order."""
    found: dict[str, type] = {}
    queue: list[tuple[str, type]] = [("inkbox", flavour.client), ("identity", flavour.identity)]
    while queue:
        path, cls = queue.pop(0)
        if cls in found.values():
            continue
        found[path] = cls
        for name, member in public_members(cls):
            if isinstance(member, property) and (resource := resource_type(member, flavour)):
                queue.append((f"{path}.{name}", resource))
        for name, resource, _ in instance_resources(cls, flavour):
            queue.append((f"{path}.{name}", resource))
    for name, value in flavour.exported().items():
        if (
            isinstance(value, type)
            and name[len(flavour.prefix) :] in roots
            and name.startswith(flavour.prefix)
            and value not in found.values()
            and is_resource(value, flavour)
        ):
            found[name[len(flavour.prefix) :]] = value
    entry_points = ("inkbox", "identity")

    def order(path: str) -> tuple[int, str]:
        root = path.split(".")[0]
        return (entry_points.index(root) if root in entry_points else len(entry_points), path)

    return {path: found[path] for path in sorted(found, key=order)}


def annotation_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def default_text(value: object) -> str:
    """A default as source would spell it (``CallMode.CLIENT_WEBSOCKET``, not the enum repr)."""
    if isinstance(value, enum.Enum) and repr(value).startswith("<"):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def signature_text(function: Callable[..., Any]) -> str:
    """``(params) -> return`` as written in the source (string annotations unquoted)."""
    signature = inspect.signature(function)
    parts: list[str] = []
    star_done = False
    previous_kind = None
    for parameter in signature.parameters.values():
        kind = parameter.kind
        if previous_kind == parameter.POSITIONAL_ONLY and kind != parameter.POSITIONAL_ONLY:
            parts.append("/")
        if kind == parameter.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        text = parameter.name
        if kind == parameter.VAR_POSITIONAL:
            text, star_done = "*" + text, True
        elif kind == parameter.VAR_KEYWORD:
            text = "**" + text
        if parameter.annotation is not parameter.empty:
            text += ": " + annotation_text(parameter.annotation)
        if parameter.default is not parameter.empty:
            text += (" = " if parameter.annotation is not parameter.empty else "=") + default_text(
                parameter.default
            )
        parts.append(text)
        previous_kind = kind
    if previous_kind == inspect.Parameter.POSITIONAL_ONLY:
        parts.append("/")
    result = f"({', '.join(parts)})"
    if signature.return_annotation is not signature.empty:
        result += " -> " + annotation_text(signature.return_annotation)
    return result


def summary(obj: Any) -> str:
    doc = inspect.getdoc(obj)
    return doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""


def member_lines(name: str, member: Any) -> list[str]:
    """A method as a stub (``def name(...) -> T:`` and its summary), a property as ``name: T``."""
    if isinstance(member, property):
        getter = member.fget
        assert getter is not None
        returned = getter.__annotations__.get("return", "")
        doc = summary(member)
        return [f"{name}: {annotation_text(returned)}", *([f'"""{doc}"""'] if doc else [])]
    function = member.__func__ if isinstance(member, staticmethod | classmethod) else member
    decorator = {staticmethod: ["@staticmethod"], classmethod: ["@classmethod"]}.get(
        type(member), []
    )
    asynchronous = inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)
    keyword = "async def" if asynchronous else "def"
    doc = summary(function)
    body = f'"""{doc}"""' if doc else "..."
    return [*decorator, f"{keyword} {name}{signature_text(function)}:", f"    {body}"]


def class_block(cls: type, flavour: Flavour, *, constructor: bool) -> list[str]:
    lines = [f"class {cls.__name__}:"]
    doc = summary(cls)
    if doc:
        lines.append(f'    """{doc}"""')
    for name, resource, doc in instance_resources(cls, flavour):
        lines += ["", f"    {name}: {resource.__name__}", *([f'    """{doc}"""'] if doc else [])]
    for name, member in public_members(cls):
        if name == "__init__" and not constructor:
            continue
        lines += ["", *("    " + line for line in member_lines(name, member))]
    return lines


def functions_block(flavour: Flavour) -> list[str]:
    lines: list[str] = []
    for name, value in flavour.exported().items():
        if inspect.isfunction(value):
            lines += ["", *member_lines(name, value)]
    return lines[1:]


def fenced(lines: list[str]) -> list[str]:
    return ["```python", *lines, "```", ""]


def render() -> str:
    async_flavour, sync_flavour = flavours()
    prefix = async_flavour.prefix
    roots = {
        name[len(prefix) :] for name in async_flavour.module.__all__ if name.startswith(prefix)
    }
    async_surfaces, sync_surfaces = surfaces(async_flavour, roots), surfaces(sync_flavour, roots)
    out = [
        "# API reference",
        "",
        "Generated by `codegen/api_docs.py` from the code: do not edit (run",
        "`python codegen/api_docs.py`; CI runs it with `--check`). Every public call of",
        "both flavours, grouped by where you meet it: the signature as the code spells it",
        "and the first line of its docstring (`help()` has the rest). The blocking",
        "flavour (`inkbox_sync`) is generated from the async one and has the same calls",
        "without `await`.",
        "",
        "Surfaces: "
        + ", ".join(f"[`{path}`](#{anchor(path)})" for path in async_surfaces)
        + ", [module functions](#module-functions).",
        "",
    ]
    for path, async_cls in async_surfaces.items():
        out += [f"## {path}", ""]
        out += [
            f"Async: `{async_cls.__name__}`",
            "",
            *fenced(class_block(async_cls, async_flavour, constructor=path == "inkbox")),
        ]
        sync_cls = sync_surfaces.get(path)
        if sync_cls is async_cls:
            out += ["Sync: the same class.", ""]
        elif sync_cls is not None:
            out += [
                f"Sync: `{sync_cls.__name__}`",
                "",
                *fenced(class_block(sync_cls, sync_flavour, constructor=path == "inkbox")),
            ]
    missing = [path for path in sync_surfaces if path not in async_surfaces]
    for path in missing:
        out += [f"## {path}", "", f"Sync only: `{sync_surfaces[path].__name__}`", ""]
        out += fenced(class_block(sync_surfaces[path], sync_flavour, constructor=False))
    out += ["## Module functions", ""]
    out += ["Async: `inkbox_async`", "", *fenced(functions_block(async_flavour))]
    out += ["Sync: `inkbox_sync`", "", *fenced(functions_block(sync_flavour))]
    return "\n".join(out).rstrip("\n") + "\n"


def anchor(heading: str) -> str:
    return "".join(c for c in heading.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


NEEDS_ENVIRONMENT = (
    "it imports both SDK flavours, so run it in the project's environment: "
    "`python3 -m nox -s codegen` (or after `pip install -e .[dev]`)"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when api.md is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where api.md lives")
    args = parser.parse_args(argv)
    try:
        text = render()
    except ModuleNotFoundError as exc:
        print(f"api_docs: {exc}; {NEEDS_ENVIRONMENT}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is stale: run `python codegen/api_docs.py` and commit it",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write ``api.md``: every public call of both flavours, with its signature and summary.

Usage: ``python codegen/api_docs.py`` rewrites ``api.md``; ``--check`` rewrites
nothing and exits 1 when the file is not what the code produces.

The packages are read as source (``ast``), never imported, so this runs on the
standard library alone, in any Python 3.11+ (no project environment needed).

What is listed, per flavour: the client (``AsyncInkbox`` / ``Inkbox``), every
resource reachable from it or from an identity as an attribute
(``inkbox.webhooks.subscriptions``, ``identity.credentials``...), the identity
(``AsyncAgentIdentity`` / ``AgentIdentity``), the other I/O classes the package
exports (``AsyncTunnelListener`` / ``TunnelListener``...) and its module-level
functions. Each class lists its public methods and properties in name order
(inherited ones included): the signature as the code spells it, a default
named by a module constant shown as its value, then the first line of its
docstring (inherited from the overridden member when it has none). Surfaces
are grouped by where a user meets them, the two flavours side by side.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import operator
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "api.md"
PACKAGES = ("inkbox_async", "inkbox_sync")

Function = ast.FunctionDef | ast.AsyncFunctionDef
# Bases outside the packages that make a class an error or an enum, never a resource.
NOT_RESOURCE_BASES = {"Exception", "ValueError", "TypeError", "KeyError", "RuntimeError"}
ATTRS_DECORATORS = {"define", "frozen", "mutable"}
WRAPPING_DECORATORS = {"asynccontextmanager", "contextmanager"}  # a plain def around it
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _name(node: ast.expr) -> str:
    """The last part of a dotted name (``attrs.frozen(...)`` → ``frozen``)."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _docstring(node: ast.ClassDef | Function) -> str:
    doc = ast.get_docstring(node)
    return doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"


class Module:
    """One parsed module: its top-level bindings, as the running module would have them."""

    def __init__(self, name: str, path: Path, package: bool) -> None:
        self.name = name
        self.package = package
        self.tree = ast.parse(path.read_text(), str(path))
        self.bindings: dict[str, ast.stmt] = {}  # name → the statement that binds it last
        self.imports: dict[str, tuple[str, str]] = {}  # name → (module, name there)
        self.fallbacks: list[str] = []  # star imports and lazy ``_EXPORTS`` modules, in order
        self.lazy: dict[str, str] = {}
        for statement in self.tree.body:
            if _type_checking(statement):
                assert isinstance(statement, ast.If)
                for inner in statement.body:
                    if isinstance(inner, ast.ImportFrom) and inner.names[0].name == "*":
                        self.fallbacks.append(self.absolute(inner))
                continue
            self._bind(statement)

    def absolute(self, node: ast.ImportFrom) -> str:
        """The module an import names, relative imports resolved."""
        return self.relative(node.module or "", node.level)

    def relative(self, target: str, level: int) -> str:
        if not level:
            return target
        parts = self.name.split(".")
        base = parts if self.package else parts[:-1]
        base = base[: len(base) - level + 1]
        return ".".join([*base, *([target] if target else [])])

    def _bind(self, statement: ast.stmt) -> None:
        if isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            self.bindings[statement.name] = statement
        elif isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                if alias.name != "*":
                    self.imports[alias.asname or alias.name] = (
                        self.absolute(statement),
                        alias.name,
                    )
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    self.bindings[target.id] = statement
                    self.imports.pop(target.id, None)
                    if target.id == "_EXPORTS" and isinstance(statement.value, ast.Dict):
                        self.lazy = {
                            ast.literal_eval(k): ast.literal_eval(v)
                            for k, v in zip(
                                statement.value.keys, statement.value.values, strict=True
                            )
                            if k is not None
                        }

    def lazy_module(self, name: str) -> str | None:
        """Where the package's ``__getattr__`` loads ``name`` from (its ``_EXPORTS`` table)."""
        target = self.lazy.get(name)
        if target is None:
            return None
        stripped = target.lstrip(".")
        return self.relative(stripped, len(target) - len(stripped))

    def all_names(self) -> list[str]:
        statement = self.bindings.get("__all__")
        if not isinstance(statement, ast.Assign | ast.AnnAssign) or statement.value is None:
            return []
        return list(ast.literal_eval(statement.value))


class ClassInfo:
    """A class as written: its module, bases (resolved where they are ours) and members."""

    def __init__(self, module: Module, node: ast.ClassDef) -> None:
        self.module = module
        self.node = node
        self.name = node.name
        self.bases: list[ClassInfo | str] = []
        self.members: dict[str, Function] = {}  # what getattr_static finds in this class
        self.kinds: dict[str, str] = {}  # "property", "staticmethod", "classmethod", "function"
        for statement in node.body:
            if (  # ``alias = method``: the same function under a second name
                isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Name)
                and statement.value.id in self.members
            ):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        self.members[target.id] = self.members[statement.value.id]
                        self.kinds[target.id] = self.kinds[statement.value.id]
                continue
            if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            decorators = [_name(d) for d in statement.decorator_list]
            texts = [ast.unparse(d) for d in statement.decorator_list]
            if any(t.endswith((".setter", ".deleter")) for t in texts) or "overload" in decorators:
                continue
            self.members[statement.name] = statement
            kind = "function"
            for decorator in decorators:
                if decorator in ("property", "cached_property"):
                    kind = "property"
                elif decorator in ("staticmethod", "classmethod"):
                    kind = decorator
            self.kinds[statement.name] = kind

    @property
    def package(self) -> str:
        return self.module.name.split(".")[0]

    def is_attrs(self) -> bool:
        return any(
            _name(d) in ATTRS_DECORATORS and "attr" in ast.unparse(d)
            for d in self.node.decorator_list
        )

    def mro(self) -> list[ClassInfo | str]:
        """C3 linearisation over our classes; an outside base stands as its name."""
        sequences = [
            base.mro() if isinstance(base, ClassInfo) else [base] for base in self.bases
        ] + [list(self.bases)]
        result: list[ClassInfo | str] = [self]
        while any(sequences):
            for sequence in sequences:
                if not sequence:
                    continue
                head = sequence[0]
                if not any(head in s[1:] for s in sequences):
                    break
            else:  # not linearisable: keep the declared order
                head = next(s[0] for s in sequences if s)
            result.append(head)
            sequences = [[c for c in s if c is not head] for s in sequences]
        return result

    def find(self, name: str) -> tuple[ClassInfo, Function] | None:
        for cls in self.mro():
            if isinstance(cls, ClassInfo) and name in cls.members:
                return cls, cls.members[name]
        return None

    def doc(self) -> str:
        for cls in self.mro():
            if isinstance(cls, ClassInfo) and (doc := _docstring(cls.node)):
                return doc
        return ""


class Source:
    """Every module of both packages, parsed; names resolved as imports would resolve them."""

    def __init__(self, root: Path) -> None:
        self.modules: dict[str, Module] = {}
        for package in PACKAGES:
            for path in sorted((root / package).rglob("*.py")):
                parts = path.relative_to(root).with_suffix("").parts
                is_package = parts[-1] == "__init__"
                name = ".".join(parts[:-1] if is_package else parts)
                self.modules[name] = Module(name, path, is_package)
        self.classes: dict[tuple[str, str], ClassInfo] = {}
        self.home: dict[int, Module] = {}  # id of a top-level statement → its module
        for module in self.modules.values():
            for statement in module.tree.body:
                self.home[id(statement)] = module
                if isinstance(statement, ast.ClassDef):
                    self.classes[module.name, statement.name] = ClassInfo(module, statement)
        for cls in self.classes.values():
            for base in cls.node.bases:
                found = self.resolve(cls.module, ast.unparse(base))
                cls.bases.append(found if isinstance(found, ClassInfo) else ast.unparse(base))

    def resolve(
        self, module: Module, name: str, depth: int = 0
    ) -> ClassInfo | Function | ast.stmt | None:
        """What ``module.name`` is once the module runs: a class, a function, another binding."""
        if depth > 20 or "." in name:
            return None
        statement = module.bindings.get(name)
        if isinstance(statement, ast.ClassDef):
            return self.classes[module.name, name]
        if statement is not None:
            return statement
        if name in module.imports:
            target, there = module.imports[name]
            return self._resolve_in(target, there, depth)
        lazy = module.lazy_module(name)
        if lazy is not None:
            return self._resolve_in(lazy, name, depth)
        for fallback in module.fallbacks:
            if (found := self._resolve_in(fallback, name, depth)) is not None:
                return found
        return None

    def _resolve_in(
        self, target: str, name: str, depth: int
    ) -> ClassInfo | Function | ast.stmt | None:
        module = self.modules.get(target)
        return None if module is None else self.resolve(module, name, depth + 1)

    def walk(self, package: str) -> Iterator[Module]:
        return (m for n, m in self.modules.items() if n.split(".")[0] == package)


class Flavour:
    """One package's entry points: its client, identity and the prefix of its I/O classes."""

    def __init__(self, source: Source, package: str, client: str, identity: str, prefix: str):
        self.source = source
        self.package = package
        self.module = source.modules[package]
        self.prefix = prefix
        self.classes: dict[str, ClassInfo] = {}
        for root in dict.fromkeys((package, "inkbox_async")):
            for module in source.walk(root):
                for statement in module.tree.body:
                    if isinstance(statement, ast.ClassDef):
                        cls = source.classes[module.name, statement.name]
                        if self.owns(cls):
                            self.classes.setdefault(cls.name, cls)
        self.client = self.classes[client]
        self.identity = self.classes[identity]

    def owns(self, cls: ClassInfo) -> bool:
        """Defined by this flavour, or a flavourless class of the async package both share."""
        shared = cls.package == "inkbox_async" and not cls.name.startswith("Async")
        return cls.package == self.package or shared

    def exported(self) -> dict[str, ClassInfo | Function | ast.stmt | None]:
        return {
            name: self.source.resolve(self.module, name) for name in sorted(self.module.all_names())
        }


def flavours(root: Path = ROOT) -> tuple[Flavour, Flavour]:
    source = Source(root)
    return (
        Flavour(source, "inkbox_async", "AsyncInkbox", "AsyncAgentIdentity", "Async"),
        Flavour(source, "inkbox_sync", "Inkbox", "AgentIdentity", ""),
    )


Member = tuple[Module, Function, str]  # where it is defined, the function, its kind


def public_members(cls: ClassInfo) -> Iterator[tuple[str, Member]]:
    """(name, member) of every public method and property, in name order."""
    names = {n for c in cls.mro() if isinstance(c, ClassInfo) for n in c.members}
    for name in sorted(names):
        if name.startswith("_") and name != "__init__":
            continue
        found = cls.find(name)
        assert found is not None
        owner, function = found
        yield name, (owner.module, function, owner.kinds[name])


def instance_resources(cls: ClassInfo, flavour: Flavour) -> list[tuple[str, ClassInfo, str]]:
    """(name, class, summary) of each ``self.name = Resource(...)`` in the class's ``__init__``."""
    found: list[tuple[str, ClassInfo, str]] = []
    init = cls.members.get("__init__")
    if init is None:
        return found
    statements = init.body
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


def resource_type(member: Member, flavour: Flavour) -> ClassInfo | None:
    """The class a property returns when it is a resource of the flavour (else None)."""
    returns = member[1].returns
    if not isinstance(returns, ast.Name | ast.Constant):
        return None
    name = returns.id if isinstance(returns, ast.Name) else str(returns.value)
    found = flavour.classes.get(name)
    return found if found is not None and is_resource(found, flavour) else None


def is_resource(cls: ClassInfo, flavour: Flavour) -> bool:
    """A class of the flavour with calls: not a model, an enum or an exception."""
    outside = {c.rsplit(".", 1)[-1] for c in cls.mro() if isinstance(c, str)}
    return (
        flavour.owns(cls)
        and not outside & NOT_RESOURCE_BASES
        and not any(base.endswith("Enum") for base in outside)
        and not cls.is_attrs()
        and (
            any(name != "__init__" for name, _ in public_members(cls))
            or bool(instance_resources(cls, flavour))
        )
    )


def surfaces(flavour: Flavour, roots: set[str]) -> dict[str, ClassInfo]:
    """Where a user meets each class (``inkbox.mailboxes``...) → the class, in discovery order."""
    found: dict[str, ClassInfo] = {}
    queue: list[tuple[str, ClassInfo]] = [
        ("inkbox", flavour.client),
        ("identity", flavour.identity),
    ]
    while queue:
        path, cls = queue.pop(0)
        if cls in found.values():
            continue
        found[path] = cls
        for name, member in public_members(cls):
            if member[2] == "property" and (resource := resource_type(member, flavour)):
                queue.append((f"{path}.{name}", resource))
        for name, resource, _ in instance_resources(cls, flavour):
            queue.append((f"{path}.{name}", resource))
    for name, value in flavour.exported().items():
        if (
            isinstance(value, ClassInfo)
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


class Defaults:
    """Default values as text: literals as Python prints them, a module constant as its value."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def text(self, node: ast.expr, module: Module) -> str:
        value = self.value(node, module)
        return ast.unparse(node) if value is None else repr(value[0])

    def value(self, node: ast.expr, module: Module, depth: int = 0) -> tuple[object] | None:
        """``(value,)`` when ``node`` is a number, string, bool or None, or arithmetic on them."""
        if depth > 10:
            return None
        if isinstance(node, ast.Constant):
            return (node.value,)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value(node.operand, module, depth + 1)
            return None if inner is None else (-inner[0],)  # type: ignore[operator]
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left = self.value(node.left, module, depth + 1)
            right = self.value(node.right, module, depth + 1)
            if left is None or right is None:
                return None
            return (_ARITHMETIC[type(node.op)](left[0], right[0]),)
        if isinstance(node, ast.Name):
            return self.constant(module, node.id, depth)
        return None

    def constant(self, module: Module, name: str, depth: int) -> tuple[object] | None:
        statement = module.bindings.get(name)
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            return self.value(statement.value, module, depth + 1)
        if statement is None and name in module.imports:
            target, there = module.imports[name]
            other = self.source.modules.get(target)
            return None if other is None else self.constant(other, there, depth + 1)
        return None


def signature_text(function: Function, module: Module, defaults: Defaults) -> str:
    """``(params) -> return`` as written in the source."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    padded: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    padded += args.defaults

    def parameter(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
        text = prefix + arg.arg
        if arg.annotation is not None:
            text += ": " + ast.unparse(arg.annotation)
        if default is not None:
            separator = " = " if arg.annotation is not None else "="
            text += separator + defaults.text(default, module)
        return text

    parts = [parameter(a, d) for a, d in zip(positional, padded, strict=True)]
    if args.posonlyargs:
        parts.insert(len(args.posonlyargs), "/")
    if args.vararg is not None:
        parts.append(parameter(args.vararg, None, "*"))
    elif args.kwonlyargs:
        parts.append("*")
    parts += [parameter(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg is not None:
        parts.append(parameter(args.kwarg, None, "**"))
    result = f"({', '.join(parts)})"
    if function.returns is not None:
        result += " -> " + ast.unparse(function.returns)
    return result


def member_doc(cls: ClassInfo, name: str) -> str:
    """A member's first docstring line, from the class that overrides it or an ancestor."""
    for owner in cls.mro():
        if isinstance(owner, ClassInfo) and name in owner.members:
            doc = _docstring(owner.members[name])
            if doc:
                return doc
    return ""


def member_lines(name: str, member: Member, doc: str, defaults: Defaults) -> list[str]:
    """A method as a stub (``def name(...) -> T:`` and its summary), a property as ``name: T``."""
    module, function, kind = member
    if kind == "property":
        returned = "" if function.returns is None else ast.unparse(function.returns)
        return [f"{name}: {returned}", *([f'"""{doc}"""'] if doc else [])]
    decorator = {"staticmethod": ["@staticmethod"], "classmethod": ["@classmethod"]}.get(kind, [])
    wrapped = any(_name(d) in WRAPPING_DECORATORS for d in function.decorator_list)
    asynchronous = isinstance(function, ast.AsyncFunctionDef) and not wrapped
    keyword = "async def" if asynchronous else "def"
    body = f'"""{doc}"""' if doc else "..."
    signature = signature_text(function, module, defaults)
    return [*decorator, f"{keyword} {name}{signature}:", f"    {body}"]


def class_block(
    cls: ClassInfo, flavour: Flavour, defaults: Defaults, *, constructor: bool
) -> list[str]:
    lines = [f"class {cls.name}:"]
    doc = cls.doc()
    if doc:
        lines.append(f'    """{doc}"""')
    for name, resource, doc in instance_resources(cls, flavour):
        lines += ["", f"    {name}: {resource.name}", *([f'    """{doc}"""'] if doc else [])]
    for name, member in public_members(cls):
        if name == "__init__" and not constructor:
            continue
        lines += [
            "",
            *(
                "    " + line
                for line in member_lines(name, member, member_doc(cls, name), defaults)
            ),
        ]
    return lines


def functions_block(flavour: Flavour, defaults: Defaults) -> list[str]:
    lines: list[str] = []
    for name, value in flavour.exported().items():
        if isinstance(value, ast.FunctionDef | ast.AsyncFunctionDef):
            member: Member = (flavour.source.home[id(value)], value, "function")
            lines += ["", *member_lines(name, member, _docstring(value), defaults)]
    return lines[1:]


def fenced(lines: list[str]) -> list[str]:
    return ["```python", *lines, "```", ""]


def render(root: Path = ROOT) -> str:
    async_flavour, sync_flavour = flavours(root)
    defaults = Defaults(async_flavour.source)
    prefix = async_flavour.prefix
    roots = {
        name[len(prefix) :] for name in async_flavour.module.all_names() if name.startswith(prefix)
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
        block = class_block(async_cls, async_flavour, defaults, constructor=path == "inkbox")
        out += [f"Async: `{async_cls.name}`", "", *fenced(block)]
        sync_cls = sync_surfaces.get(path)
        if sync_cls is async_cls:
            out += ["Sync: the same class.", ""]
        elif sync_cls is not None:
            block = class_block(sync_cls, sync_flavour, defaults, constructor=path == "inkbox")
            out += [f"Sync: `{sync_cls.name}`", "", *fenced(block)]
    missing = [path for path in sync_surfaces if path not in async_surfaces]
    for path in missing:
        out += [f"## {path}", "", f"Sync only: `{sync_surfaces[path].name}`", ""]
        out += fenced(class_block(sync_surfaces[path], sync_flavour, defaults, constructor=False))
    out += ["## Module functions", ""]
    out += ["Async: `inkbox_async`", "", *fenced(functions_block(async_flavour, defaults))]
    out += ["Sync: `inkbox_sync`", "", *fenced(functions_block(sync_flavour, defaults))]
    return "\n".join(out).rstrip("\n") + "\n"


def anchor(heading: str) -> str:
    return "".join(c for c in heading.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when api.md is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where api.md lives")
    args = parser.parse_args(argv)
    text = render()
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

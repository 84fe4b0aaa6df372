"""Every ```python block of README.md runs against a fresh emulator, in its own flavour.

A block is cut into parts at its top-level paragraphs: a paragraph that awaits
(``await``, ``async with``, ``async for``) or imports ``inkbox_async`` is async, one
that imports ``inkbox_sync`` or calls ``Inkbox(`` is sync, any other joins its
neighbour. So the quick start ("Use it") runs as two parts, its async half on
asyncio and trio (compiled with top-level await and awaited under anyio, which
is the same as running it inside an ``async def``), its sync half as is. A part
runs one top-level statement at a time, in one namespace, and fails the test on
any exception; a name ``ok`` that a part binds must end up true.

The prelude: a part reads names that the README's prose introduces. Each one is
built just before the first top-level statement that reads it without binding
it, for that part alone and in its flavour:

- every name ``inkbox_async`` (or ``inkbox_sync``) exports, and ``os``, as
  if the reader had star-imported the package they use;
- ``api_key``: the admin key of a fresh organisation (one per part);
- ``inkbox``: a client of the part's flavour on that key (closed afterwards);
- ``identity``: a fresh identity of the part's flavour, with one inbound
  message in its mailbox;
- ``url``: a local webhook receiver;
- ``raw_body`` / ``request.headers``: the body and headers of a real signed
  ``message.received`` delivery to ``url`` (an email is injected into
  ``identity``'s mailbox at that point, so it is signed with the signing key
  the part holds by then);
- ``fastapi_app``: a small ASGI app answering ``hello from the app``.

The world around a part: ``INKBOX_BASE_URL`` points at the emulator (the
README's clients pass only ``api_key``), ``INKBOX_TUNNEL_EDGE`` /
``INKBOX_TUNNEL_CA`` at its edge, ``HOME`` at a temporary directory (tunnel state
stays out of the user's home), the working directory holds a ``report.pdf``,
``INKBOX_VAULT_KEY`` holds the key of the org's vault (initialised for parts
that mention it), every E.164 literal of the part has texted START to a number
of the org, the emulator ends the 10DLC warm-up at once, and a call moves one
step every 5 s (a real call outlives the block; the emulator's default of
50 ms could end it before the block hangs up).

Rewrites, made on the parsed code: a literal handle (the first argument of
``create_identity``/``get_identity``, ``name=`` of ``tunnels.connect``) becomes
unique per run (``"sales-bot"`` → ``"sales-bot-1a2b3c"``), so blocks and
backends never collide; a handle the part reads but does not create is created
by the prelude; ``http://127.0.0.1:8080`` becomes a local HTTP server's URL.

Serving tunnels: while a part blocks in ``serve_forever()`` or ``wait()``, a
caller GETs the listener's public host through the emulator's edge (the
answer must come from the target), then stops the listener the way the README
says (``aclose()`` from another task, ``close()`` from another thread).

A block that cannot run carries ``<!-- not run: reason -->`` on the line before
its fence; those are listed by a test that keeps them few.
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import json
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import anyio.to_thread
import attrs
import httpx2
import pytest

import inkbox_async
import inkbox_sync
from inkbox_emulator import Emulator

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->")
MAX_NOT_RUN = 2
VAULT_KEY = "Readme-Vault-Key-2026!"
E164 = re.compile(r"^\+1\d{10}$")
LOCAL_TARGET = "http://127.0.0.1:8080"
HANDLE_CALLS = {"create_identity", "get_identity"}


@attrs.frozen
class Block:
    line: int  # the line of the opening fence
    source: str
    not_run: str | None


@attrs.frozen
class Part:
    block: Block
    flavour: str  # "async" or "sync"
    tree: ast.Module  # line numbers are README.md's

    @property
    def id(self) -> str:
        return f"README.md:{self.tree.body[0].lineno}-{self.flavour}"


def readme_blocks() -> list[Block]:
    lines = README.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            end = lines.index("```", index + 1)
            marker = NOT_RUN.search(lines[index - 1]) if index else None
            source = "\n".join(lines[index + 1 : end]) + "\n"
            blocks.append(Block(index + 1, source, marker.group(1) if marker else None))
            index = end
        index += 1
    return blocks


def paragraph_flavour(tree: ast.Module) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Await | ast.AsyncWith | ast.AsyncFor):
            return "async"
        if isinstance(node, ast.ImportFrom) and node.module in ("inkbox_async", "inkbox_sync"):
            return "async" if node.module == "inkbox_async" else "sync"
        if isinstance(node, ast.Name) and node.id == "Inkbox":
            return "sync"
    return None


def split_parts(block: Block) -> list[Part]:
    """The block's top-level paragraphs, grouped into runs of one flavour."""
    tree = ast.parse(block.source, filename=str(README))
    ast.increment_lineno(tree, block.line)
    groups: list[tuple[str | None, list[ast.stmt]]] = []
    previous_end = None
    for statement in tree.body:
        new_paragraph = previous_end is None or statement.lineno > previous_end + 1
        flavour = paragraph_flavour(ast.Module([statement], []))
        if groups and not new_paragraph:
            groups[-1][1].append(statement)
            if groups[-1][0] is None:
                groups[-1] = (flavour, groups[-1][1])
        elif groups and (flavour is None or flavour == groups[-1][0] or groups[-1][0] is None):
            groups[-1] = (groups[-1][0] or flavour, [*groups[-1][1], statement])
        else:
            groups.append((flavour, [statement]))
        previous_end = statement.end_lineno
    return [
        Part(block, flavour or "sync", ast.Module(statements, [])) for flavour, statements in groups
    ]


def all_parts() -> list[Part]:
    return [part for block in readme_blocks() if not block.not_run for part in split_parts(block)]


def parts_of(flavour: str) -> list[Any]:
    return [pytest.param(part, id=part.id) for part in all_parts() if part.flavour == flavour]


def bound_names(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, ast.alias):
            names.add((child.asname or child.name).split(".")[0])
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(child.name)
    return names


def read_names(node: ast.AST) -> list[str]:
    seen = [
        child.id
        for child in ast.walk(node)
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)
    ]
    bound = bound_names(node)
    return [name for name in dict.fromkeys(seen) if name not in bound]


class Rewriter(ast.NodeTransformer):
    """Unique handles per run, and the local target of the README's tunnel."""

    def __init__(self, suffix: str, target_url: str) -> None:
        self.suffix = suffix
        self.target_url = target_url
        self.created: set[str] = set()
        self.read: set[str] = set()

    def unique(self, handle: str) -> str:
        return f"{handle}-{self.suffix}"

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        handles: list[ast.Constant] = []
        if method in HANDLE_CALLS and node.args and isinstance(node.args[0], ast.Constant):
            handles.append(node.args[0])
        if method == "connect":
            handles += [
                k.value
                for k in node.keywords
                if k.arg == "name" and isinstance(k.value, ast.Constant)
            ]
        for constant in handles:
            if isinstance(constant.value, str):
                (self.created if method == "create_identity" else self.read).add(constant.value)
                constant.value = self.unique(constant.value)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str) and node.value.startswith(LOCAL_TARGET):
            node.value = self.target_url + node.value[len(LOCAL_TARGET) :]
        return node


class Servers:
    """Loopback HTTP servers: a webhook receiver and a forwarding target."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.target_hits: list[str] = []
        self._arrived = threading.Condition()
        servers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with servers._arrived:
                    servers.deliveries.append((dict(self.headers.items()), body))
                    servers._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def do_GET(self) -> None:
                servers.target_hits.append(self.path)
                body = b"hello from the local server"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def delivery(self, event_type: str, timeout: float = 10.0) -> tuple[dict[str, str], bytes]:
        def found() -> tuple[dict[str, str], bytes] | None:
            return next(
                (d for d in self.deliveries if json.loads(d[1]).get("event_type") == event_type),
                None,
            )

        with self._arrived:
            self._arrived.wait_for(lambda: found() is not None, timeout)
        result = found()
        assert result is not None, f"no {event_type} delivery within {timeout} s"
        return result

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


async def fastapi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Stands in for the README's FastAPI app."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello from the app"})


class Prelude:
    """The names a part reads from the README's prose, built on first read."""

    def __init__(self, emu: Emulator, part: Part, servers: Servers) -> None:
        self.emu = emu
        self.part = part
        self.servers = servers
        self.flavour = inkbox_async if part.flavour == "async" else inkbox_sync
        self.org = emu.create_org()
        self.setup = inkbox_sync.Inkbox(api_key=self.org.api_key, base_url=emu.base_url)
        self.cleanups: list[Callable[[], object]] = [self.setup.close]
        self.ns: dict[str, Any] = {"__name__": "__readme__", "os": __import__("os")}
        self.ns.update({name: getattr(self.flavour, name) for name in self.flavour.__all__})
        self.rewriter = Rewriter(uuid.uuid4().hex[:6], servers.url)
        self.tree = self.rewriter.visit(copy.deepcopy(part.tree))
        self.factories: dict[str, Callable[[], Any]] = {
            "api_key": lambda: self.org.api_key,
            "inkbox": self.make_client,
            "identity": self.make_identity,
            "url": lambda: servers.url + "/hooks",
            "raw_body": self.delivery_body,
            "request": self.delivery_request,
            "fastapi_app": lambda: fastapi_app,
        }
        self.prepare_world(ast.unparse(self.tree))

    def prepare_world(self, source: str) -> None:
        if "INKBOX_VAULT_KEY" in source:
            self.setup.vault.initialize(VAULT_KEY)
        for handle in sorted(self.rewriter.read - self.rewriter.created):
            self.setup.create_identity(self.rewriter.unique(handle))
        outside = sorted({n.value for n in ast.walk(self.tree) if is_e164(n)})
        if outside:
            helper = self.setup.create_identity(f"texts-{self.rewriter.suffix}")
            number = helper.provision_phone_number()
            for remote in outside:
                self.emu.inject_text(to_number=number.number, from_number=remote, text="START")

    def statements(self) -> Iterator[tuple[list[str], Any]]:
        """(prelude names it needs, code) for each top-level statement."""
        for statement in self.tree.body:
            module = ast.Module([statement], [])
            code = compile(module, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            yield read_names(statement), code

    def provide(self, names: list[str]) -> list[tuple[str, Any]]:
        """The values (or awaitables, in the async flavour) of the names not yet bound."""
        missing = [n for n in names if n not in self.ns and not hasattr(builtins, n)]
        unknown = [n for n in missing if n not in self.factories]
        assert not unknown, f"{self.part.id} reads {unknown}: neither the README nor the prelude"
        return [(name, self.factories[name]()) for name in missing]

    def make_client(self) -> Any:
        if self.part.flavour == "async":
            client = inkbox_async.AsyncInkbox(api_key=self.org.api_key)
            self.cleanups.append(client.aclose)
        else:
            client = inkbox_sync.Inkbox(api_key=self.org.api_key)
            self.cleanups.append(client.close)
        return client

    def make_identity(self) -> Any:
        handle = f"readme-agent-{self.rewriter.suffix}"
        made = self.setup.create_identity(handle)
        self.emu.inject_email(
            to=made.email_address,
            from_address="customer@example.com",
            subject="Where is my order?",
            body_text="It has not arrived yet.",
        )
        client = self.ns.get("inkbox") or self.bind("inkbox", self.make_client())
        return client.get_identity(handle)

    def bind(self, name: str, value: Any) -> Any:
        self.ns[name] = value
        return value

    def delivery(self) -> tuple[dict[str, str], bytes]:
        if not self.servers.deliveries:
            identity = self.ns["identity"]
            self.emu.inject_email(
                to=identity.email_address,
                from_address="customer@example.com",
                subject="Any news?",
                body_text="Still waiting.",
            )
        return self.servers.delivery("message.received")

    def delivery_body(self) -> bytes:
        return self.delivery()[1]

    def delivery_request(self) -> SimpleNamespace:
        return SimpleNamespace(headers=self.delivery()[0])

    def check_outcome(self) -> None:
        if "ok" in self.ns:
            assert self.ns["ok"], f"{self.part.id}: ok is {self.ns['ok']!r}"


def is_e164(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(E164.match(node.value))
    )


def blocks_in_tunnel_wait(thread_id: int) -> bool:
    """Whether the thread sits in the blocking listener's ``wait()``."""
    wait_code = inkbox_sync.TunnelListener.wait.__code__
    frame = sys._current_frames().get(thread_id)
    while frame is not None:
        if frame.f_code is wait_code:
            return True
        frame = frame.f_back
    return False


def call_public_host(emu: Emulator, host: str) -> str:
    response = httpx2.get(emu.tunnel_public_url + "/", headers={"host": host}, timeout=30)
    assert response.status_code == 200, response.text
    return response.text


EXPECTED_ANSWERS = ("hello from the app", "hello from the local server")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(sms_ready_delay=0, call_status_delay=5) as emulator:
        yield emulator


@pytest.fixture
def world(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Servers]:
    for name in ("INKBOX_API_KEY", "INKBOX_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INKBOX_BASE_URL", emu.base_url)
    monkeypatch.setenv("INKBOX_TUNNEL_EDGE", emu.tunnel_edge)
    monkeypatch.setenv("INKBOX_TUNNEL_CA", emu.tunnel_ca_file)
    monkeypatch.setenv("INKBOX_VAULT_KEY", VAULT_KEY)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n% a report\n%%EOF\n")
    servers = Servers()
    yield servers
    servers.close()


def serves_a_tunnel(part: Part) -> bool:
    return any(
        isinstance(n, ast.Attribute) and n.attr in ("serve_forever", "wait")
        for n in ast.walk(part.tree)
    )


@pytest.mark.parametrize("part", parts_of("async"))
async def test_async_block(part: Part, emu: Emulator, world: Servers) -> None:
    prelude = Prelude(emu, part, world)
    served: list[str] = []

    async def stop_serving_listeners() -> None:
        handled: set[int] = set()
        while True:
            listener = prelude.ns.get("listener")
            if (
                listener is not None
                and id(listener) not in handled
                and listener.status == "connected"
            ):
                handled.add(id(listener))
                host = listener.tunnel.public_host
                served.append(await anyio.to_thread.run_sync(call_public_host, emu, host))
                await listener.aclose()
            await anyio.sleep(0.05)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(stop_serving_listeners)
            for names, code in prelude.statements():
                for name, value in prelude.provide(names):
                    prelude.ns[name] = await value if inspect.isawaitable(value) else value
                result = eval(code, prelude.ns)
                if inspect.isawaitable(result):
                    await result
            group.cancel_scope.cancel()
        prelude.check_outcome()
    finally:
        for cleanup in reversed(prelude.cleanups):
            outcome = cleanup()
            if inspect.isawaitable(outcome):
                await outcome
    if serves_a_tunnel(part):
        assert served and all(answer in EXPECTED_ANSWERS for answer in served), served


@pytest.mark.parametrize("part", parts_of("sync"))
def test_sync_block(part: Part, emu: Emulator, world: Servers) -> None:
    prelude = Prelude(emu, part, world)
    served: list[str] = []
    done = threading.Event()
    runner = threading.get_ident()

    def stop_serving_listeners() -> None:
        handled: set[int] = set()
        while not done.wait(0.05):
            listener = prelude.ns.get("listener")
            if (
                listener is not None
                and id(listener) not in handled
                and listener.status == "connected"
                and blocks_in_tunnel_wait(runner)
            ):
                handled.add(id(listener))
                served.append(call_public_host(emu, listener.tunnel.public_host))
                listener.close()

    watcher = threading.Thread(target=stop_serving_listeners, daemon=True)
    watcher.start()
    try:
        for names, code in prelude.statements():
            for name, value in prelude.provide(names):
                prelude.ns[name] = value
            exec(code, prelude.ns)
        prelude.check_outcome()
    finally:
        done.set()
        watcher.join(10)
        for cleanup in reversed(prelude.cleanups):
            cleanup()
    if serves_a_tunnel(part):
        assert served and all(answer in EXPECTED_ANSWERS for answer in served), served


def test_every_block_runs_or_says_why_not() -> None:
    blocks = readme_blocks()
    skipped = [(block.line, block.not_run) for block in blocks if block.not_run]
    assert len(blocks) >= 7
    assert len(skipped) <= MAX_NOT_RUN, skipped
    flavours = [part.flavour for part in split_parts(blocks[0])]
    assert flavours == ["async", "sync"], "the quick start shows both flavours"


def test_blocks_are_split_by_flavour() -> None:
    block = Block(
        10,
        "from inkbox_async import AsyncInkbox\n\nx = 1\nawait f(x)\n\n"
        "from inkbox_sync import Inkbox\n\nwith Inkbox() as c:\n    pass\n",
        None,
    )
    parts = split_parts(block)
    assert [(p.flavour, len(p.tree.body)) for p in parts] == [("async", 3), ("sync", 2)]
    assert parts[0].tree.body[0].lineno == 11


def test_handles_are_rewritten_and_reads_are_recorded() -> None:
    tree = ast.parse(
        'c.create_identity("a")\nc.get_identity("b")\nt.connect(name="b", forward_to="http://127.0.0.1:8080/x")\n'
    )
    rewriter = Rewriter("s1", "http://127.0.0.1:9")
    source = ast.unparse(rewriter.visit(tree))
    assert "'a-s1'" in source and "'b-s1'" in source and "'http://127.0.0.1:9/x'" in source
    assert (rewriter.created, rewriter.read) == ({"a"}, {"b"})

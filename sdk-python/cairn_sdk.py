"""Write cairn plugins in Python: actions, their argument schemas, outputs
and errors over the `cairn:plugin` WIT world, and a mock host for unit tests.

The Python counterpart of the Rust `cairn-sdk`. `componentize-py` makes the
plugin a WebAssembly component; the host gives it the same grants, limits and
dry-run as any other plugin. A plugin is a module `app.py`:

    import cairn_sdk

    plugin = cairn_sdk.Plugin("greeter", "0.1.0", "Greets someone",
                              capabilities={"exec": ["echo"]})

    @plugin.action("hello", "Say hello", effect="write", args={...})
    def hello(host, ctx, args):
        done = host.exec("echo", ["hello", args.who])
        return {"greeting": done.stdout_text.strip()}

    WitWorld = plugin.export()

Natively (no component), `MockHost().invoke(plugin, "hello", {...})` runs an
action the way the component export does, against scripted answers.
"""

import difflib
import json
from dataclasses import dataclass, field as dc_field
from typing import Any, Callable, Dict, List, Optional

__all__ = [
    "Args", "Completed", "Context", "HostError", "MockHost", "Plugin",
    "PluginError", "Response",
]

READ_METHODS = ("GET", "HEAD")


class PluginError(Exception):
    """Fails the step. `field` names the argument it is about, if any."""

    def __init__(self, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.field = field


class HostError(PluginError):
    """A capability call failed: not granted, unreachable, timed out."""


@dataclass
class Context:
    run_id: str = "run-test"
    step_id: str = "step"
    runbook: str = "test"
    mode: str = "apply"  # "apply", "dry-run" or "rehearsal"
    target: Optional[str] = None


@dataclass
class Completed:
    status: int = 0
    stdout: bytes = b""
    stderr: bytes = b""
    planned: bool = False

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: List[tuple] = dc_field(default_factory=list)
    planned: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Args(dict):
    """A step's arguments, checked against the action's schema, defaults
    filled in; `args.who` or `args["who"]` (`-` in a name becomes `_`)."""

    def __getattr__(self, name):
        for key in (name, name.replace("_", "-")):
            if key in self:
                return self[key]
        raise AttributeError(name)


# ------------------------------------------------------------------ arguments

_TYPES = {"string": str, "boolean": bool, "array": list, "object": dict}


def _coerce(value, schema: dict, path: str):
    """`value` checked against `schema` (the subset of JSON Schema that
    `cairn validate` reads), with the host's lenient scalars: an interpolated
    `"200"` is an integer, `"true"` a boolean."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    if kinds and value is None and "null" in kinds:
        return None
    if kinds:
        value = _one_of_kinds(value, [k for k in kinds if k != "null"], path)
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(f"`{v}`" for v in schema["enum"])
        raise PluginError(f"argument `{path}`: `{value}` is not one of {choices}", path)
    if isinstance(value, list) and "items" in schema:
        value = [_coerce(v, schema["items"], f"{path}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict) and "properties" in schema:
        value = _object(value, schema, path + ".")
    return value


def _one_of_kinds(value, kinds, path):
    for kind in kinds:
        if kind == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
        elif kind == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            try:
                return float(value) if isinstance(value, str) else _no()
            except ValueError:
                pass
        elif kind == "boolean" and isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        elif kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        elif kind in _TYPES and isinstance(value, _TYPES[kind]):
            return value
    raise PluginError(
        f"argument `{path}`: expected {' or '.join(kinds)}, got `{json.dumps(value)}`", path
    )


def _no():
    raise ValueError


def _object(given: dict, schema: dict, prefix: str = "") -> Args:
    props = schema.get("properties", {})
    out = Args()
    for key, value in given.items():
        if key not in props:
            if schema.get("additionalProperties", True) is False:
                near = difflib.get_close_matches(key, list(props), n=1)
                hint = f" (did you mean `{near[0]}`?)" if near else ""
                raise PluginError(f"unknown argument `{prefix}{key}`{hint}", prefix + key)
            out[key] = value
            continue
        out[key] = _coerce(value, props[key], prefix + key)
    for key in schema.get("required", []):
        if key not in out:
            raise PluginError(f"missing argument `{prefix}{key}`", prefix + key)
    for key, sub in props.items():
        if key not in out:
            out[key] = sub.get("default")
    return out


def parse_args(args: dict, schema: Optional[dict]) -> Args:
    """The step's arguments checked against `schema`; a `PluginError` naming
    the argument when they do not fit."""
    if not isinstance(args, dict):
        raise PluginError("the arguments are not an object")
    if not schema:
        return Args(args)
    return _object(args, schema)


# ------------------------------------------------------------------ plugins

@dataclass
class _Action:
    name: str
    summary: str
    effect: str
    schema: Optional[dict]
    func: Callable


class Plugin:
    """A plugin: its name, semver version, summary, capabilities (`exec`
    programs, `http` hosts, ...) and actions, registered with `action`."""

    def __init__(self, name: str, version: str, summary: str,
                 capabilities: Optional[Dict[str, List[str]]] = None):
        self.name = name
        self.version = version
        self.summary = summary
        self.capabilities = capabilities or {}
        self.actions: Dict[str, _Action] = {}
        self.default_action: Optional[str] = None

    def action(self, name: str, summary: str, effect: str = "write",
               args: Optional[dict] = None, default: bool = False):
        """Registers `func(host, ctx, args) -> dict` as the action `name`.
        `effect` is `read` or `write`; `args` the JSON Schema of its
        arguments (`cairn validate` checks each step against it)."""
        if effect not in ("read", "write"):
            raise ValueError(f"effect must be `read` or `write`, not `{effect}`")

        def register(func):
            self.actions[name] = _Action(name, summary, effect, args, func)
            if default or self.default_action is None:
                self.default_action = name
            return func
        return register

    def args_schema(self) -> str:
        schemas = {a.name: a.schema for a in self.actions.values() if a.schema}
        return json.dumps({"actions": schemas}) if schemas else "{}"

    def call(self, host, ctx: Context, action: str, args_json: str) -> str:
        """Runs one action: JSON text in, JSON text out, as the export does."""
        act = self.actions.get(action)
        if act is None:
            known = ", ".join(f"`{a}`" for a in self.actions)
            raise PluginError(f"unknown action `{action}` (known: {known})")
        args = parse_args(json.loads(args_json or "{}"), act.schema)
        outputs = act.func(host, ctx, args)
        return json.dumps(outputs if outputs is not None else {})

    def export(self):
        """The class componentize-py exports as the world `plugin`."""
        return _export(self)


# ------------------------------------------------------------------ mock host

class MockHost:
    """A host for unit tests: records every call and answers with scripted
    results, first from the queues (`exec_returns`, `http_returns`), then
    from the handlers (`on_exec`, `on_http`). `MockHost(dry_run=True)`
    answers writes as the host does in `--dry-run`: planned, not performed."""

    def __init__(self, dry_run: bool = False):
        self.dry_run = dry_run
        self.calls: List[tuple] = []
        self._exec: List[Any] = []
        self._http: List[Any] = []
        self._on_exec: Optional[Callable] = None
        self._on_http: Optional[Callable] = None

    def exec_returns(self, done: Completed) -> "MockHost":
        self._exec.append(done)
        return self

    def http_returns(self, resp: Response) -> "MockHost":
        self._http.append(resp)
        return self

    def on_exec(self, handler: Callable) -> "MockHost":
        self._on_exec = handler
        return self

    def on_http(self, handler: Callable) -> "MockHost":
        self._on_http = handler
        return self

    @property
    def commands(self) -> List[dict]:
        return [c[1] for c in self.calls if c[0] == "exec"]

    @property
    def requests(self) -> List[dict]:
        return [c[1] for c in self.calls if c[0] == "http"]

    @property
    def logs(self) -> List[dict]:
        return [c[1] for c in self.calls if c[0] == "log"]

    # The host interface, the same as the component's.

    def log(self, level: str, message: str, **fields) -> None:
        self.calls.append(("log", {"level": level, "message": message, "fields": fields}))

    def exec(self, program: str, args=(), *, effect: str = "write", env=None, cwd=None,
             stdin=None, timeout_ms=None, target=None) -> Completed:
        cmd = {"program": program, "args": list(args), "effect": effect, "env": env or {},
               "cwd": cwd, "stdin": stdin, "timeout_ms": timeout_ms, "target": target}
        self.calls.append(("exec", cmd))
        if self.dry_run and effect == "write":
            return Completed(planned=True)
        return self._answer(self._exec, self._on_exec, cmd, "exec")

    def http(self, method: str, url: str, *, headers=None, body=None, timeout_ms=None,
             follow_redirects: bool = True) -> Response:
        req = {"method": method.upper(), "url": url, "headers": headers or {}, "body": body,
               "timeout_ms": timeout_ms, "follow_redirects": follow_redirects}
        self.calls.append(("http", req))
        if self.dry_run and req["method"] not in READ_METHODS:
            return Response(status=0, planned=True)
        return self._answer(self._http, self._on_http, req, "http")

    @staticmethod
    def _answer(queue, handler, call, what):
        if queue:
            answer = queue.pop(0)
        elif handler is not None:
            answer = handler(call)
        else:
            raise HostError(f"mock host: no scripted answer for {what} {call}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def invoke(self, plugin: Plugin, action: str, args: Optional[dict] = None,
               ctx: Optional[Context] = None) -> dict:
        """Runs `action` as the component export does; returns its outputs,
        raises its `PluginError`."""
        if ctx is None:
            ctx = Context(mode="dry-run" if self.dry_run else "apply")
        return json.loads(plugin.call(self, ctx, action, json.dumps(args or {})))


# ------------------------------------------------------------------ the component

def _export(plugin: Plugin):
    """The `WitWorld` class of the component: `describe` and `run` over the
    bindings componentize-py generates from `wit/cairn-plugin.wit`."""
    try:
        from wit_world.imports import types  # generated, only in the component
        from componentize_py_types import Err
    except ImportError:
        return None  # natively (unit tests): nothing to export

    class WitWorld:
        def describe(self):
            return types.Description(
                name=plugin.name, version=plugin.version, summary=plugin.summary,
                actions=[types.ActionInfo(a.name, a.summary, types.Effect[a.effect.upper()])
                         for a in plugin.actions.values()],
                default_action=plugin.default_action,
                args_schema=plugin.args_schema(),
                capabilities=[types.Capability(k, list(v))
                              for k, v in plugin.capabilities.items()],
            )

        def run(self, ctx, action, args):
            context = Context(ctx.run_id, ctx.step_id, ctx.runbook,
                              ctx.mode.name.lower().replace("_", "-"), ctx.target)
            try:
                return plugin.call(_WasmHost(), context, action, args)
            except PluginError as e:
                raise Err(types.PluginError(e.message, e.field))

    return WitWorld


class _WasmHost:
    """The host's imports, in the shape of `MockHost`."""

    def log(self, level: str, message: str, **fields) -> None:
        from wit_world.imports import log
        log.log(log.Level[level.upper()], message, [(k, str(v)) for k, v in fields.items()])

    def exec(self, program: str, args=(), *, effect: str = "write", env=None, cwd=None,
             stdin=None, timeout_ms=None, target=None) -> Completed:
        from wit_world.imports import exec as wexec, types
        from componentize_py_types import Err
        cmd = wexec.Command(
            program=program, args=[str(a) for a in args],
            env=[wexec.EnvVar(k, wexec.EnvValue_Plain(str(v))) for k, v in (env or {}).items()],
            cwd=cwd, stdin=stdin.encode() if isinstance(stdin, str) else stdin,
            timeout_ms=timeout_ms, effect=types.Effect[effect.upper()], target=target)
        try:
            done = wexec.run(cmd)
        except Err as e:
            raise HostError(str(e.value))
        return Completed(done.status, bytes(done.stdout), bytes(done.stderr), done.planned)

    def http(self, method: str, url: str, *, headers=None, body=None, timeout_ms=None,
             follow_redirects: bool = True) -> Response:
        from wit_world.imports import http
        from componentize_py_types import Err
        req = http.Request(
            method=method.upper(), url=url,
            headers=[http.Header(k, http.HeaderValue_Plain(str(v)))
                     for k, v in (headers or {}).items()],
            body=body.encode() if isinstance(body, str) else body,
            timeout_ms=timeout_ms, follow_redirects=follow_redirects)
        try:
            resp = http.send(req)
        except Err as e:
            raise HostError(str(e.value))
        return Response(resp.status, bytes(resp.body), list(resp.headers), resp.planned)

"""A small fake of the Kestra 2.0 REST API, for testing scripts/deploy.py without a server.

It keeps state (flows with their source, namespace files) and answers the few endpoints deploy
uses the way Kestra does. Above all it checks every request against the official OpenAPI
description (an excerpt of shared/kestra/openapi-2.0.yml vendored in tests/fixtures/, so that the
tests run on any checkout: the operations deploy.py sends and the schemas of their answers; see
tests/fixtures/make_openapi_excerpt.py): a path and method the spec has, required and known
query parameters, a content type the operation's requestBody declares, multipart part names and
content types as the schema says, an auth scheme the operation accepts. Anything else is recorded
in `violations`; its own 2xx answers are checked against the spec's response schemas too.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

SPEC_PATH = Path(__file__).resolve().parent / "fixtures" / "kestra-openapi-2.0-excerpt.yml"
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SCHEME_OF = {"basicAuth": "basic", "bearerAuth": "bearer"}


# --------------------------------------------------------------------------------------------
# The OpenAPI checker.


class OpenApiSpec:
    def __init__(self, path: Path = SPEC_PATH):
        with open(path, encoding="utf-8") as handle:
            self.doc = yaml.load(handle, Loader=YAML_LOADER)
        routes = []
        for template, item in self.doc["paths"].items():
            segments = template.strip("/").split("/")
            pattern = "^/" + "/".join("([^/]+)" if s.startswith("{") else re.escape(s) for s in segments) + "$"
            literal = sum(not s.startswith("{") for s in segments)
            routes.append((literal, template, re.compile(pattern), item))
        # Concrete paths win over templated ones (/flows/validate before /flows/{namespace}).
        self.routes = sorted(routes, key=lambda r: -r[0])

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def route(self, method: str, path: str):
        """(template, operation, path parameters) of a request, or a problem string."""
        candidates = [(t, rx.match(path), item) for _, t, rx, item in self.routes if rx.match(path)]
        if not candidates:
            return f"{method} {path}: no path of the spec matches"
        template, match, item = candidates[0]
        operation = item.get(method.lower())
        if operation is None:
            return f"{method} {path}: the spec has no {method} on {template}"
        names = re.findall(r"{([^}]+)}", template)
        return template, operation, {n: unquote(v) for n, v in zip(names, match.groups())}

    def parameters(self, operation):
        return [self.resolve(p) for p in operation.get("parameters", [])]

    def check_request(self, method, path, query, headers, body):
        """Return (template, operation, path params, parts, problems) for one request."""
        routed = self.route(method, path)
        if isinstance(routed, str):
            return None, None, {}, {}, [routed]
        template, operation, path_params = routed
        where = f"{method} {template} ({operation.get('operationId')})"
        problems = []
        params = self.parameters(operation)
        declared_query = {p["name"]: p for p in params if p.get("in") == "query"}
        for name, param in declared_query.items():
            if param.get("required") and name not in query:
                problems.append(f"{where}: required query parameter '{name}' missing")
        for name, values in query.items():
            param = declared_query.get(name)
            if param is None:
                problems.append(f"{where}: query parameter '{name}' is not in the spec")
                continue
            kind = self.resolve(param.get("schema", {})).get("type")
            for value in values:
                if kind == "boolean" and value not in ("true", "false"):
                    problems.append(f"{where}: query parameter '{name}' must be true/false, got {value!r}")
                if kind == "integer" and not re.fullmatch(r"-?\d+", value):
                    problems.append(f"{where}: query parameter '{name}' must be an integer, got {value!r}")
        for param in params:
            if param.get("in") == "path" and param.get("required") and not path_params.get(param["name"]):
                problems.append(f"{where}: path parameter '{param['name']}' empty")
        if operation.get("x-kestra", {}).get("edition") == "ee":
            problems.append(f"{where}: Enterprise-only operation")
        problems += self.check_auth(where, operation, headers)
        body_problems, parts = self.check_body(where, operation, headers, body)
        return template, operation, path_params, parts, problems + body_problems

    def check_auth(self, where, operation, headers):
        header = headers.get("Authorization")
        if not header:
            return []
        allowed = {SCHEME_OF.get(name) for req in operation.get("security", []) for name in req}
        scheme = header.split(" ", 1)[0].lower()
        return [] if scheme in allowed else [f"{where}: auth scheme '{scheme}' not among {sorted(allowed)}"]

    def check_body(self, where, operation, headers, body):
        request_body = self.resolve(operation.get("requestBody"))
        content_type = headers.get("Content-Type", "")
        media = content_type.split(";")[0].strip().lower()
        if not request_body:
            return ([f"{where}: the operation takes no request body, got {len(body)} bytes"] if body else []), {}
        if not body:
            return ([f"{where}: request body required"] if request_body.get("required") else []), {}
        content = request_body.get("content", {})
        if media not in content:
            return [f"{where}: content type {media or 'none'} not among {sorted(content)}"], {}
        if media == "multipart/form-data":
            return self.check_multipart(where, content[media], content_type, body)
        if media == "application/json":
            try:
                json.loads(body)
            except ValueError:
                return [f"{where}: body is not JSON"], {}
        if media == "application/x-yaml":
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return [f"{where}: YAML body is not UTF-8"], {}
        return [], {}

    def check_multipart(self, where, media_spec, content_type, body):
        parts = split_multipart(content_type, body)
        if parts is None:
            return [f"{where}: body is not multipart/form-data with a boundary"], {}
        schema = self.resolve(media_spec.get("schema", {}))
        properties = schema.get("properties")
        encoding = media_spec.get("encoding", {})
        problems = []
        for name, (_, part_type, _) in parts.items():
            if properties is not None and name not in properties:
                problems.append(f"{where}: multipart field '{name}' not among {sorted(properties)}")
            wanted = encoding.get(name, {}).get("contentType")
            if wanted and part_type not in [w.strip() for w in wanted.split(",")]:
                problems.append(f"{where}: multipart field '{name}' has type {part_type}, the spec says {wanted}")
        for name in schema.get("required", []):
            if name not in parts:
                problems.append(f"{where}: required multipart field '{name}' missing")
        return problems, parts

    def check_response(self, method, template, operation, status, media, payload):
        """Problems with one of the fake's own 2xx answers (keeps the fake honest)."""
        if status >= 300 or operation is None:
            return []
        where = f"response to {method} {template} ({operation.get('operationId')})"
        responses = operation.get("responses", {})
        declared = self.resolve(responses.get(str(status)) or responses.get("default"))
        if declared is None:
            return [f"{where}: status {status} not declared"]
        content = declared.get("content")
        if not content:
            return [f"{where}: no body declared, the fake sent {media}"] if payload is not None else []
        if media not in content:
            return [f"{where}: {media} not among {sorted(content)}"]
        if media == "application/json":
            return self.schema_problems(content[media].get("schema", {}), payload, where)
        return []

    def schema_problems(self, schema, value, where, depth=0):
        """A light check: types, required keys, and nested schemas a few levels deep."""
        schema = self.resolve(schema)
        if value is None or depth > 5 or not isinstance(schema, dict):
            return []
        problems = []
        for sub in schema.get("allOf", []):
            problems += self.schema_problems(sub, value, where, depth)
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} not among {schema['enum']}")
        # Property<T> (e.g. a task `timeout`) is `type: object` with `oneOf: [object, string]`:
        # the plain string form ("PT10M") is valid.
        if any(not self.schema_problems(alt, value, where, depth) for alt in schema.get("oneOf", [])):
            return problems
        kind = schema.get("type")
        expected = {"array": list, "object": dict, "string": str, "boolean": bool, "integer": int}.get(kind)
        if expected and (not isinstance(value, expected) or (kind == "integer" and isinstance(value, bool))):
            return problems + [f"{where}: expected {kind}, got {type(value).__name__}"]
        if isinstance(value, list):
            for item in value:
                problems += self.schema_problems(schema.get("items", {}), item, where, depth + 1)
        if isinstance(value, dict):
            for key in schema.get("required", []):
                if key not in value:
                    problems.append(f"{where}: required field '{key}' missing")
            for key, sub in schema.get("properties", {}).items():
                if key in value:
                    problems += self.schema_problems(sub, value[key], f"{where}.{key}", depth + 1)
        return problems


def split_multipart(content_type: str, body: bytes):
    """{field name: (filename, content type, bytes)}, byte-exact; None if not multipart."""
    header = email.parser.HeaderParser(policy=email.policy.HTTP).parsestr(f"Content-Type: {content_type}\n\n")
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not boundary:
        return None
    parts = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = email.parser.HeaderParser(policy=email.policy.HTTP).parsestr(head.decode("utf-8") + "\n\n")
        name = headers.get_param("name", header="content-disposition")
        parts[name] = (headers.get_filename(), headers.get_content_type(), content.removesuffix(b"\r\n"))
    return parts


# --------------------------------------------------------------------------------------------
# The fake server.


@dataclass
class Recorded:
    method: str
    path: str
    operation_id: str | None
    query: dict
    content_type: str
    body: bytes
    path_params: dict = field(default_factory=dict)
    parts: dict = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.method != "GET" and self.operation_id != "validateFlows"

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.operation_id}"


class Reply(Exception):
    """Raised by handlers to answer with a status and an optional body."""

    def __init__(self, status, payload=None, media="application/json"):
        super().__init__(status)
        self.status, self.payload, self.media = status, payload, media


def error(status, message, path):
    # Micronaut/Kestra error body shape.
    return Reply(
        status,
        {
            "message": message,
            "_links": {"self": {"href": path, "templated": False}},
            "_embedded": {"errors": [{"message": message}]},
        },
    )


def subflow_targets(node):
    found = []
    if isinstance(node, dict):
        if str(node.get("type", "")).endswith(".Subflow"):
            found.append((node.get("namespace"), node.get("flowId")))
        for value in node.values():
            found += subflow_targets(value)
    elif isinstance(node, list):
        for item in node:
            found += subflow_targets(item)
    return found


class FakeKestra:
    def __init__(self, spec: OpenApiSpec, *, user=None, password=None, token=None, tenants=("main",)):
        self.spec = spec
        self.user, self.password, self.token = user, password, token
        self.tenants = set(tenants)
        self.flows: dict[tuple[str, str], dict] = {}  # (namespace, id) -> {"source", "revision"}
        self.files: dict[str, dict[str, bytes]] = {}  # namespace -> {"/a/b.py": content}
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.constraints: dict[str, str] = {}  # flow id -> violation text validate returns
        self.failures: list[int] = []  # statuses to answer to the next requests
        self.delay = 0.0  # seconds to sleep before every answer
        self.lock = threading.Lock()
        self.server = None

    # -- lifecycle

    def start(self) -> "FakeKestra":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.handle(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.server.handle_error = lambda request, address: None  # clients that timed out and left
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- state helpers for tests

    def add_flow(self, source: str) -> None:
        doc = yaml.safe_load(source)
        self.flows[(doc["namespace"], doc["id"])] = {"source": source, "revision": 1}

    def add_file(self, namespace: str, path: str, content: bytes) -> None:
        self.files.setdefault(namespace, {})["/" + path.lstrip("/")] = content

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_write]

    def fail_next(self, count: int, status: int = 503) -> None:
        self.failures += [status] * count

    # -- request handling

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        query = parse_qs(url.query, keep_blank_values=True)
        template, operation, path_params, parts, problems = self.spec.check_request(
            handler.command, url.path, query, handler.headers, body
        )
        record = Recorded(
            handler.command,
            url.path,
            operation and operation.get("operationId"),
            {k: v[0] for k, v in query.items()},
            handler.headers.get("Content-Type", ""),
            body,
            path_params,
            parts,
        )
        with self.lock:
            self.requests.append(record)
            self.violations += problems
            failure = self.failures.pop(0) if self.failures else None
        if self.delay:
            time.sleep(self.delay)
        try:
            if failure:
                raise error(failure, "Service Unavailable", url.path)
            if operation is None:
                raise error(404, "Page Not Found", url.path)
            self.authenticate(handler.headers, url.path)
            if path_params.get("tenant") not in self.tenants:
                raise error(404, f"Tenant '{path_params.get('tenant')}' not found", url.path)
            with self.lock:
                reply = getattr(self, "op_" + operation["operationId"], self.not_implemented)(record)
        except Reply as raised:
            reply = raised
        payload = reply.payload
        if reply.media == "application/json" and payload is not None:
            data = json.dumps(payload).encode()
        else:
            data = payload or b""
        with self.lock:
            self.violations += self.spec.check_response(
                handler.command, template, operation, reply.status, reply.media, payload
            )
        try:
            handler.send_response(reply.status)
            if data:
                handler.send_header("Content-Type", reply.media)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout test)

    def authenticate(self, headers, path) -> None:
        if not (self.user or self.token):
            return
        header = headers.get("Authorization", "")
        accepted = []
        if self.user:
            accepted.append("Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode())
        if self.token:
            accepted.append(f"Bearer {self.token}")
        if header not in accepted:
            raise error(401, "Unauthorized", path)

    def not_implemented(self, record: Recorded):
        self.violations.append(f"the fake does not implement {record}")
        raise error(501, "Not implemented by the fake", record.path)

    # -- flows

    def flow_json(self, namespace, flow_id, with_source):
        stored = self.flows[(namespace, flow_id)]
        doc = yaml.safe_load(stored["source"])
        body = {
            "id": flow_id,
            "namespace": namespace,
            "revision": stored["revision"],
            "tasks": doc.get("tasks", []),
            "disabled": False,
            "deleted": False,
            "draft": False,
        }
        if with_source:
            body["source"] = stored["source"]
        return body

    def parse_flow(self, record: Recorded):
        try:
            doc = yaml.safe_load(record.body.decode("utf-8"))
        except yaml.YAMLError as exc:
            raise error(422, f"Invalid entity: {exc}", record.path) from None
        if not isinstance(doc, dict) or not all(doc.get(k) for k in ("id", "namespace", "tasks")):
            raise error(422, "Invalid entity: id, namespace and tasks are required", record.path)
        return doc

    def check_subflows(self, doc, path):
        # Kestra's FlowService.checkValidSubflows on create and update.
        for namespace, flow_id in subflow_targets(doc.get("tasks", [])):
            if (namespace, flow_id) not in self.flows:
                raise error(422, f"Invalid entity: The subflow '{flow_id}' not found in namespace '{namespace}'.", path)

    def op_validateFlows(self, record: Recorded):
        results = []
        for index, source in enumerate(re.split(r"\n---[ \t]*\n", record.body.decode("utf-8"))):
            result = {"index": index}
            try:
                doc = yaml.safe_load(source)
            except yaml.YAMLError as exc:
                results.append({**result, "constraints": f"Invalid YAML: {exc}"})
                continue
            doc = doc if isinstance(doc, dict) else {}
            result.update({k: v for k, v in (("flow", doc.get("id")), ("namespace", doc.get("namespace"))) if v})
            missing = [k for k in ("id", "namespace", "tasks") if not doc.get(k)]
            constraint = self.constraints.get(doc.get("id"))
            if missing or constraint:
                result["constraints"] = constraint or "; ".join(f"{k}: must not be null" for k in missing)
            warnings = [
                f"The subflow '{f}' not found in namespace '{n}'."
                for n, f in subflow_targets(doc.get("tasks", []))
                if (n, f) not in self.flows
            ]
            if warnings:
                result["warnings"] = warnings
            results.append(result)
        return Reply(200, results)

    def op_getFlow(self, record: Recorded):
        key = (record.path_params["namespace"], record.path_params["id"])
        if key not in self.flows:
            raise error(404, f"Flow '{key[1]}' not found in namespace '{key[0]}'", record.path)
        return Reply(200, self.flow_json(*key, record.query.get("source") == "true"))

    def op_createFlow(self, record: Recorded):
        doc = self.parse_flow(record)
        key = (doc["namespace"], doc["id"])
        if key in self.flows:
            raise error(422, f"Invalid entity: Flow id '{key[1]}' already exists", record.path)
        self.check_subflows(doc, record.path)
        self.flows[key] = {"source": record.body.decode("utf-8"), "revision": 1}
        return Reply(200, self.flow_json(*key, True))

    def op_updateFlow(self, record: Recorded):
        key = (record.path_params["namespace"], record.path_params["id"])
        if key not in self.flows:
            raise Reply(404)
        doc = self.parse_flow(record)
        if (doc["namespace"], doc["id"]) != key:
            raise error(422, "Invalid entity: Illegal flow id or namespace update", record.path)
        self.check_subflows(doc, record.path)
        self.flows[key] = {"source": record.body.decode("utf-8"), "revision": self.flows[key]["revision"] + 1}
        return Reply(200, self.flow_json(*key, True))

    def op_deleteFlow(self, record: Recorded):
        key = (record.path_params["namespace"], record.path_params["id"])
        if self.flows.pop(key, None) is None:
            raise Reply(404)
        return Reply(204)

    def op_listFlowsByNamespace(self, record: Recorded):
        namespace = record.path_params["namespace"]
        return Reply(200, [self.flow_json(ns, fid, False) for ns, fid in sorted(self.flows) if ns == namespace])

    # -- namespace files

    def file_path(self, record: Recorded, default=None) -> str:
        path = record.query.get("path", default)
        return "/" + path.strip("/") if path else "/"

    def op_getFileContent(self, record: Recorded):
        files = self.files.get(record.path_params["namespace"], {})
        path = self.file_path(record)
        if path not in files:
            raise error(404, f"File not found: {path}", record.path)
        return Reply(200, files[path], media="application/octet-stream")

    def op_createNamespaceFile(self, record: Recorded):
        filename, _, content = record.parts.get("fileContent", (None, None, None))
        if content is None:
            raise error(400, "Required argument [CompletedFileUpload fileContent] not specified", record.path)
        self.files.setdefault(record.path_params["namespace"], {})[self.file_path(record)] = content
        return Reply(200)

    def op_deleteFileDirectory(self, record: Recorded):
        files = self.files.get(record.path_params["namespace"], {})
        path = self.file_path(record)
        doomed = [p for p in files if p == path or p.startswith(path.rstrip("/") + "/")]
        if not doomed:
            raise error(404, f"File not found: {path}", record.path)
        for p in doomed:
            del files[p]
        return Reply(200)

    def op_listNamespaceDirectoryFiles(self, record: Recorded):
        files = self.files.get(record.path_params["namespace"], {})
        directory = self.file_path(record, "/").rstrip("/")
        below = [p[len(directory) + 1 :] for p in files if p.startswith(directory + "/")]
        if directory and not below:
            raise error(404, f"Directory not found: {directory}", record.path)
        entries = {}
        for rest in below:
            name, _, deeper = rest.partition("/")
            entries[name] = ("Directory" if deeper else "File", 0 if deeper else len(files[f"{directory}/{name}"]))
        return Reply(
            200,
            [
                {"fileName": name, "type": kind, "size": size, "creationTime": 0, "lastModifiedTime": 0}
                for name, (kind, size) in sorted(entries.items())
            ],
        )

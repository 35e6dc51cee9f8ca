"""Kestra's REST API as scripts/deploy.py uses it: the client, its errors and the console.

- ``KestraClient``: the ten operations deploy sends (validate, read, create, update, list and
  delete flows; list, read, upload and delete namespace files), each with a timeout, retries of
  network errors and 5xx with a doubling delay, and one clear message per failure;
- ``DeployError`` and the exit codes each failure maps to (docs/DEPLOY.md);
- ``say``/``warn``: every console line goes through ``redact``, so a credential can never be
  printed, even when a server or a library echoes it back; ``Credentials`` never shows it either.

tests/test_deploy.py checks every request against Kestra's OpenAPI description (tests/kestra_fake.py).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, overload

import requests

if TYPE_CHECKING:
    from deploy import FlowFile, NamespaceFile

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2  # bad arguments or repository content that cannot be deployed
EXIT_INVALID = 3  # Kestra (or the local checks) found the flows invalid
EXIT_AUTH = 4  # 401/403
EXIT_SERVER = 5  # network failure, timeout or 5xx after all retries
EXIT_REJECTED = 6  # the server refused a request (404 tenant/namespace, 422, other 4xx)

# Kestra treats a namespace-file folder /_flows/ specially (it holds flows): never listed or deleted.
FORBIDDEN_TOP_DIR = "_flows"


class DeployError(Exception):
    """A failure to report in one clear message, with the exit code it maps to."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------------------------
# Output. Every line goes through redact(), so a credential can never reach the console even
# if a server or library echoes it back.

_SECRETS: list[str] = []


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


def say(text: str) -> None:
    print(redact(text), flush=True)


def warn(text: str) -> None:
    print(redact(text), file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Talking to Kestra.


class Credentials:
    """Holds the secret; its repr never shows it."""

    def __init__(self, token: str | None = None, user: str | None = None, password: str | None = None):
        self._token, self._user, self._password = token, user, password

    @classmethod
    def from_environment(cls) -> "Credentials":
        token = os.environ.get("KESTRA_API_TOKEN") or None
        user = os.environ.get("KESTRA_USER") or None
        password = os.environ.get("KESTRA_PASSWORD") or None
        if token:
            return cls(token=token)
        if bool(user) != bool(password):
            raise DeployError("set both KESTRA_USER and KESTRA_PASSWORD (or KESTRA_API_TOKEN)", EXIT_USAGE)
        return cls(user=user, password=password)

    @property
    def kind(self) -> str:
        return "token" if self._token else "basic" if self._user else "none"

    def apply(self, session: requests.Session) -> None:
        if self._token:
            session.headers["Authorization"] = f"Bearer {self._token}"
        elif self._user:
            session.auth = (self._user, self._password or "")

    def __repr__(self) -> str:
        return f"Credentials(kind={self.kind!r})"


def kestra_message(response: requests.Response) -> str:
    """Kestra's error text: the JSON `message` plus any embedded error details."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason or ""
    if not isinstance(body, dict):
        return str(body)[:500]
    parts = [str(body.get("message", "")).strip()]
    for error in (body.get("_embedded") or {}).get("errors") or []:
        text = str(error.get("message", "")).strip() if isinstance(error, dict) else ""
        if text and text not in parts[0]:
            parts.append(text)
    return "; ".join(p for p in parts if p) or response.reason or ""


class KestraClient:
    """The handful of Kestra endpoints deploy needs, with retries and clear errors."""

    RETRIED_STATUSES = {500, 502, 503, 504}
    MAX_DELAY = 10.0

    def __init__(
        self,
        server: str,
        tenant: str,
        credentials: Credentials,
        *,
        timeout: float,
        retries: int,
        base_delay: float,
        dry_run: bool,
    ):
        self.server, self.tenant = server, tenant
        self.timeout, self.retries, self.base_delay = timeout, retries, base_delay
        self.dry_run = dry_run
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "bottleneck-deploy"
        credentials.apply(self.session)

    def __repr__(self) -> str:
        return f"KestraClient(server={self.server!r}, tenant={self.tenant!r})"

    # -- transport

    @overload
    def request(
        self, method: str, path: str, *, what: str, write: bool = ..., missing_ok: Literal[False] = ..., **kwargs: Any
    ) -> requests.Response: ...
    @overload
    def request(
        self, method: str, path: str, *, what: str, write: bool = ..., missing_ok: bool, **kwargs: Any
    ) -> requests.Response | None: ...
    def request(
        self, method: str, path: str, *, what: str, write: bool = False, missing_ok: bool = False, **kwargs: Any
    ) -> requests.Response | None:
        """Send one request, retrying network errors and 5xx; None for a 404 when missing_ok."""
        if write and self.dry_run:
            raise AssertionError(f"dry run must not send {method} {path}")  # a bug, not a user error
        url = f"{self.server}/api/v1/{self.tenant}{path}"
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            problem = None
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g}s (timed out)"
            except requests.ConnectionError:
                problem = f"could not connect to {self.server}"
            else:
                if response.status_code not in self.RETRIED_STATUSES:
                    return self.check(response, method, path, what, missing_ok)
                problem = f"server error {response.status_code}: {kestra_message(response)}"
            if attempt < attempts:
                delay = min(self.base_delay * 2 ** (attempt - 1), self.MAX_DELAY)
                warn(f"retry {attempt}/{self.retries} of {what} in {delay:g}s: {problem}")
                time.sleep(delay)
        raise DeployError(f"{what} failed after {attempts} attempt(s): {problem} ({method} {url})", EXIT_SERVER)

    def check(self, response, method, path, what, missing_ok) -> requests.Response | None:
        status = response.status_code
        if status < 400:
            return response
        if status in (401, 403):
            raise DeployError(
                f"{what}: authentication failed (HTTP {status}) on {self.server}: "
                "check KESTRA_USER/KESTRA_PASSWORD or KESTRA_API_TOKEN and the account's permissions",
                EXIT_AUTH,
            )
        if status == 404 and missing_ok:
            return None
        if status == 404:
            raise DeployError(
                f"{what}: not found (HTTP 404, {method} /api/v1/{self.tenant}{path}): tenant '{self.tenant}' "
                f"or the namespace may not exist on {self.server} (OSS uses tenant 'main'; Enterprise needs "
                "the namespace created first), or --server is not the Kestra base URL",
                EXIT_REJECTED,
            )
        raise DeployError(f"{what}: rejected by Kestra (HTTP {status}): {kestra_message(response)}", EXIT_REJECTED)

    def json(self, response: requests.Response, what: str):
        try:
            return response.json()
        except ValueError:
            raise DeployError(
                f"{what}: the server did not answer JSON; is {self.server} the Kestra base URL?", EXIT_SERVER
            ) from None

    # -- flows

    def validate(self, flow: FlowFile) -> list[dict]:
        what = f"validate {flow.rel_path}"
        response = self.request(
            "POST",
            "/flows/validate",
            what=what,
            data=flow.source.encode("utf-8"),
            headers={"Content-Type": "application/x-yaml"},
        )
        results = self.json(response, what)
        if not isinstance(results, list):
            raise DeployError(f"{what}: unexpected answer (expected a list of validation results)", EXIT_SERVER)
        return [r for r in results if isinstance(r, dict)]

    def get_flow_source(self, namespace: str, flow_id: str) -> str | None:
        what = f"read flow {namespace}.{flow_id}"
        response = self.request(
            "GET", f"/flows/{namespace}/{flow_id}", what=what, missing_ok=True, params={"source": "true"}
        )
        if response is None:
            return None
        body = self.json(response, what)
        # A flow without its source in the answer still exists: compare as "different" and update.
        return (body.get("source") or "") if isinstance(body, dict) else ""

    def create_flow(self, flow: FlowFile) -> None:
        self.request(
            "POST",
            "/flows",
            what=f"create flow {flow.uid}",
            write=True,
            data=flow.source.encode("utf-8"),
            headers={"Content-Type": "application/x-yaml"},
        )

    def update_flow(self, flow: FlowFile) -> None:
        self.request(
            "PUT",
            f"/flows/{flow.namespace}/{flow.flow_id}",
            what=f"update flow {flow.uid}",
            write=True,
            data=flow.source.encode("utf-8"),
            headers={"Content-Type": "application/x-yaml"},
        )

    def list_flow_ids(self, namespace: str) -> list[str]:
        what = f"list flows of namespace {namespace}"
        flows = self.json(self.request("GET", f"/flows/{namespace}", what=what), what)
        # The endpoint is meant to be exact, but never touch another namespace even if it answered more.
        return sorted(
            f["id"]
            for f in flows
            if isinstance(f, dict) and f.get("namespace") == namespace and not f.get("deleted", False)
        )

    def delete_flow(self, namespace: str, flow_id: str) -> None:
        self.request("DELETE", f"/flows/{namespace}/{flow_id}", what=f"delete flow {namespace}.{flow_id}", write=True)

    # -- namespace files (paths are sent as "/<relative path>")

    def list_files(self, namespace: str, directory: str = "") -> tuple[set[str], set[str]]:
        """All (files, directories) below a directory of the namespace, as relative paths."""
        what = f"list namespace files of {namespace}"
        response = self.request(
            "GET",
            f"/namespaces/{namespace}/files/directory",
            what=what,
            missing_ok=True,
            params={"path": f"/{directory}"},
        )
        files, dirs = set(), set()
        for entry in self.json(response, what) if response is not None else []:
            name = entry.get("fileName") if isinstance(entry, dict) else None
            if not name:
                continue
            rel = f"{directory}/{name}" if directory else name
            if entry.get("type") == "Directory":
                if rel == FORBIDDEN_TOP_DIR:
                    continue
                dirs.add(rel)
                sub_files, sub_dirs = self.list_files(namespace, rel)
                files |= sub_files
                dirs |= sub_dirs
            else:
                files.add(rel)
        return files, dirs

    def get_file(self, namespace: str, rel_path: str) -> bytes | None:
        response = self.request(
            "GET",
            f"/namespaces/{namespace}/files",
            what=f"read namespace file {rel_path}",
            missing_ok=True,
            params={"path": f"/{rel_path}"},
        )
        return None if response is None else response.content

    def upload_file(self, namespace: str, file: NamespaceFile) -> None:
        self.request(
            "POST",
            f"/namespaces/{namespace}/files",
            what=f"upload namespace file {file.rel_path}",
            write=True,
            params={"path": f"/{file.rel_path}"},
            files={"fileContent": (PurePosixPath(file.rel_path).name, file.content, "application/octet-stream")},
        )

    def delete_file(self, namespace: str, rel_path: str) -> None:
        self.request(
            "DELETE",
            f"/namespaces/{namespace}/files",
            what=f"delete namespace file {rel_path}",
            write=True,
            params={"path": f"/{rel_path}"},
        )

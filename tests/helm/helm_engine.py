"""Drive the real Helm engine (Go library shipped by PyPI ``helm-sdkpy``) from tests.

helm-sdkpy exposes Helm's Lint and Install actions, but not ``helm template``, and its lint result
drops the error text (Go errors serialise to ``{}``). So:

* :func:`lint` runs Helm's lint action on a copy of the chart whose ``values.yaml`` holds the
  default values merged with the variant (what ``helm lint -f variant.yaml`` checks);
* :func:`render` runs Helm's *install* action against :class:`FakeKubeAPI`, a loopback HTTP server
  that answers the handful of Kubernetes API calls an install makes (version, discovery, release
  Secrets, resource creation). Helm renders and validates exactly as for a real cluster, so a bad
  values file fails with Helm's own schema message, and the rendered manifest is read back from the
  release record Helm stores (base64 of gzipped JSON inside the release Secret).

The Go library runs in a child process (:mod:`tests.helm.helm_worker`): its runtime then neither
shares signal handling with pytest nor writes caches into the user's home (Go reads the
environment only once, at load time, so the child gets its own HOME and HELM_* directories).

Merging follows Helm's rules: maps merge key by key, lists and scalars replace, ``null`` deletes.

>>> merge_values({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2], "e": 3}, "d": None})
{'a': {'b': 1, 'c': [2], 'e': 3}}
"""

from __future__ import annotations

import asyncio
import base64
import copy
import gzip
import json
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

CHART_DIR = Path(__file__).resolve().parents[2] / "helm" / "tunewatch"

INSTALL_HINT = (
    "helm-sdkpy (Helm's Go library for Python) is not installed; the chart tests need the real "
    "Helm engine. Install it with: .venv/bin/pip install --ignore-requires-python helm-sdkpy"
)

SEVERITY = {0: "unknown", 1: "info", 2: "warning", 3: "error"}


def helm_sdk() -> Any:
    """Import helm_sdkpy or raise ImportError with the install command."""
    try:
        import helm_sdkpy
    except ImportError as exc:  # pragma: no cover - exercised only without the package
        raise ImportError(INSTALL_HINT) from exc
    return helm_sdkpy


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of a values file over the chart defaults."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_values(chart: Path = CHART_DIR) -> dict[str, Any]:
    return yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8")) or {}


@dataclass(frozen=True)
class LintMessage:
    severity: str
    path: str


def lint(values: Mapping[str, Any] | None = None, *, chart: Path = CHART_DIR) -> list[LintMessage]:
    """Run Helm's lint on ``chart`` with ``values`` merged over its defaults."""
    h = helm_sdk()
    with tempfile.TemporaryDirectory(prefix="tw-helm-lint-") as tmp:
        copy_dir = Path(tmp) / chart.name
        shutil.copytree(chart, copy_dir)
        merged = merge_values(default_values(chart), values or {})
        (copy_dir / "values.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
        result = asyncio.run(h.Lint(h.Configuration()).run(str(copy_dir)))
    return [
        LintMessage(SEVERITY.get(m.get("Severity", 0), "unknown"), m.get("Path", ""))
        for m in result.get("Messages") or []
    ]


# --- a loopback Kubernetes API that is just enough for `helm install` -------------------------

_RESOURCES: dict[str, list[tuple[str, str]]] = {
    "v1": [("configmaps", "ConfigMap"), ("secrets", "Secret"), ("services", "Service"),
           ("serviceaccounts", "ServiceAccount"), ("persistentvolumeclaims",
                                                   "PersistentVolumeClaim")],
    "apps/v1": [("deployments", "Deployment"), ("statefulsets", "StatefulSet")],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy")],
    "monitoring.coreos.com/v1": [("servicemonitors", "ServiceMonitor"),
                                 ("prometheusrules", "PrometheusRule")],
}


def _resource_list(group_version: str) -> dict[str, Any]:
    return {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
        "resources": [
            {"name": plural, "singularName": kind.lower(), "namespaced": True, "kind": kind,
             "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
            for plural, kind in _RESOURCES[group_version]
        ],
    }


def _group_list() -> dict[str, Any]:
    groups = []
    for gv in _RESOURCES:
        if "/" in gv:
            name, version = gv.split("/")
            ver = {"groupVersion": gv, "version": version}
            groups.append({"name": name, "versions": [ver], "preferredVersion": ver})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


_RELEASE_RE = re.compile(rb"H4sI[A-Za-z0-9+/=]+")


class FakeKubeAPI:
    """Answers Helm's install calls on 127.0.0.1 and records the release it stores."""

    def __init__(self, *, namespace: str) -> None:
        self.namespace = namespace
        self.releases: list[dict[str, Any]] = []
        self.created: list[dict[str, Any]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, obj: Any) -> None:
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/version":
                    return self._send(200, {"major": "1", "minor": "31",
                                            "gitVersion": "v1.31.0", "platform": "linux/amd64"})
                if path == "/api":
                    return self._send(200, {"kind": "APIVersions", "versions": ["v1"]})
                if path == "/apis":
                    return self._send(200, _group_list())
                gv = path.removeprefix("/api/").removeprefix("/apis/")
                if gv in _RESOURCES:
                    return self._send(200, _resource_list(gv))
                if path.endswith("/secrets"):
                    return self._send(200, {"kind": "SecretList", "apiVersion": "v1",
                                            "metadata": {}, "items": []})
                return self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                        "reason": "NotFound", "code": 404})

            def _store(self) -> None:
                body = self._body()
                if "/secrets" in self.path and (m := _RELEASE_RE.search(body)):
                    raw = gzip.decompress(base64.b64decode(m.group(0)))
                    api.releases.append(json.loads(raw))
                    return self._send(201 if self.command == "POST" else 200, {
                        "apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": "release", "namespace": api.namespace}})
                obj = json.loads(body or b"{}")
                api.created.append(obj)
                return self._send(201 if self.command == "POST" else 200, obj)

            do_POST = do_PUT = do_PATCH = _store

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def kubeconfig(self) -> str:
        return yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake",
                                                      "namespace": self.namespace}}],
            "users": [{"name": "fake", "user": {"token": "not-a-real-token"}}],
        })

    def __enter__(self) -> FakeKubeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class RenderError(Exception):
    """Helm refused to install (schema violation, template error); ``str()`` is Helm's message."""


@dataclass(frozen=True)
class Rendered:
    documents: list[dict[str, Any]]
    notes: str

    def kinds(self) -> list[str]:
        return sorted(d["kind"] for d in self.documents)

    def get(self, kind: str, name_suffix: str = "") -> dict[str, Any]:
        found = self.find(kind, name_suffix)
        if len(found) != 1:
            names = [d["metadata"]["name"] for d in self.documents if d["kind"] == kind]
            raise KeyError(f"expected one {kind} ending {name_suffix!r}, found {names}")
        return found[0]

    def find(self, kind: str, name_suffix: str = "") -> list[dict[str, Any]]:
        return [d for d in self.documents
                if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]


@contextmanager
def _kubeconfig_file(api: FakeKubeAPI) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="tw-helm-kube-") as tmp:
        path = Path(tmp) / "kubeconfig"
        path.write_text(api.kubeconfig())
        yield str(path)


def render(
    values: Mapping[str, Any] | None = None,
    *,
    chart: Path = CHART_DIR,
    release: str = "tunewatch",
    namespace: str = "llm",
) -> Rendered:
    """``helm install --values`` against a fake API server; returns the rendered documents."""
    h = helm_sdk()
    with FakeKubeAPI(namespace=namespace) as api, _kubeconfig_file(api) as kubeconfig:
        config = h.Configuration(namespace=namespace, kubeconfig=kubeconfig)
        try:
            asyncio.run(h.Install(config).run(
                release, str(chart), values=dict(values or {}), wait=False, timeout=30,
            ))
        except h.HelmError as exc:
            raise RenderError(str(exc)) from None
    if not api.releases:
        raise RenderError("helm stored no release record")
    record = api.releases[0]
    docs = [d for d in yaml.safe_load_all(record.get("manifest", "")) if d]
    return Rendered(documents=docs, notes=record.get("info", {}).get("notes", ""))

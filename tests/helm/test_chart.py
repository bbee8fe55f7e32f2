"""The Helm chart, checked with the real Helm engine (PyPI helm-sdkpy, Helm v4's Go library).

* lint of the default values and of every ``ci/*-values.yaml`` variant;
* ``helm install`` against a loopback fake API server (see helm_engine.py), asserting the
  rendered manifests: modes, the single prober, secrets, persistence, monitoring, policies;
* the rendered Tunewatch config files are loaded by the daemon's own config model;
* values.schema.json rejects bad values at install time with Helm's message naming the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import ConfigError, Settings, load_settings
from tests.helm.helm_engine import CHART_DIR, INSTALL_HINT, Rendered, RenderError
from tests.helm.helm_worker import HelmUnavailable, HelmWorker

CI_DIR = CHART_DIR / "ci"
CI_FILES = sorted(CI_DIR.glob("*-values.yaml"))
TRIGGERS_WIRED = "triggers" in Settings.model_fields


def _values(name: str) -> dict[str, Any]:
    return yaml.safe_load((CI_DIR / name).read_text(encoding="utf-8")) or {}


@pytest.fixture(scope="module")
def helm() -> Iterator[HelmWorker]:
    with HelmWorker() as worker:
        try:
            worker.lint({})
        except HelmUnavailable as exc:
            pytest.fail(str(exc) or INSTALL_HINT, pytrace=False)
        yield worker


# --- helpers -----------------------------------------------------------------------------------

def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def _container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    by_name = {c["name"]: c for c in _pod_spec(workload)["containers"]}
    assert name in by_name, f"no container {name!r} in {sorted(by_name)}"
    return by_name[name]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _workloads(r: Rendered) -> list[dict[str, Any]]:
    return [d for d in r.documents if d["kind"] in ("Deployment", "StatefulSet")]


def _tunewatch_containers(r: Rendered) -> list[tuple[str, dict[str, Any]]]:
    return [(w["metadata"]["name"], c) for w in _workloads(r)
            for c in _pod_spec(w)["containers"] if c["name"].startswith("tunewatch")]


def _config(r: Rendered, key: str) -> dict[str, Any]:
    return yaml.safe_load(r.get("ConfigMap", "-config")["data"][key])


# --- lint --------------------------------------------------------------------------------------

def test_every_feature_has_a_ci_variant() -> None:
    names = {p.name for p in CI_FILES}
    assert {"sidecar-values.yaml", "standalone-values.yaml", "prober-values.yaml",
            "monitoring-values.yaml", "persistence-pvc-values.yaml",
            "networkpolicy-values.yaml", "secrets-values.yaml"} <= names


@pytest.mark.parametrize("variant", ["default", *[p.name for p in CI_FILES]])
def test_lint_is_clean(helm: HelmWorker, variant: str) -> None:
    values = {} if variant == "default" else _values(variant)
    messages = helm.lint(values)
    bad = [m for m in messages if m.severity in ("warning", "error", "unknown")]
    if bad:  # helm-sdkpy drops lint texts: render to get Helm's own message
        try:
            helm.render(values)
            detail = "(install renders fine)"
        except RenderError as exc:
            detail = str(exc)
        pytest.fail(f"helm lint {variant}: {bad}\n{detail}")
    assert [m.path for m in messages] == ["Chart.yaml"]  # only the 'icon is recommended' info


def test_lint_flags_values_that_break_the_schema(helm: HelmWorker) -> None:
    messages = helm.lint({"mode": "daemonset"})
    assert any(m.severity == "error" and m.path == "values.yaml" for m in messages), messages


# --- rendering ---------------------------------------------------------------------------------

def test_defaults_render_a_hardened_standalone_proxy(helm: HelmWorker) -> None:
    r = helm.render()
    assert r.kinds() == ["ConfigMap", "Deployment", "Service", "Service", "ServiceAccount"]
    deploy = r.get("Deployment", "tunewatch")
    spec = _pod_spec(deploy)
    assert [c["name"] for c in spec["containers"]] == ["tunewatch"]
    c = spec["containers"][0]
    assert c["args"] == ["serve", "--config", "/etc/tunewatch/config/config.yaml"]
    sc = c["securityContext"]
    assert (sc["runAsNonRoot"], sc["runAsUser"]) == (True, 10001)
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert spec["automountServiceAccountToken"] is False
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8000, "admin": 9464}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    for path in ("/tmp", "/var/cache/tunewatch", "/var/lib/tunewatch"):
        assert "emptyDir" in volumes[mounts[path]], path
    assert c["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    cfg = _config(r, "config.yaml")
    assert cfg["upstream"]["url"] == "http://model-server:8000"
    assert cfg["proxy"]["listen"] == "0.0.0.0:8000" and cfg["admin"]["listen"] == "0.0.0.0:9464"
    assert cfg["store"]["path"] == "/var/lib/tunewatch/tunewatch.db"
    assert cfg["probes"]["enabled"] is False and _env(c)["TUNEWATCH_PROBES__ENABLED"] == "false"
    svc = r.get("Service", "tunewatch")
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    assert svc["spec"]["selector"]["app.kubernetes.io/component"] == "server"


def test_monitoring_objects_are_off_by_default(helm: HelmWorker) -> None:
    r = helm.render()
    assert not r.find("PrometheusRule") and not r.find("ServiceMonitor")
    assert not r.find("NetworkPolicy") and not r.find("Deployment", "-prober")


def test_standalone_forwards_to_the_model_service(helm: HelmWorker) -> None:
    r = helm.render(_values("standalone-values.yaml"))
    assert r.get("Deployment", "tunewatch")["spec"]["replicas"] == 3
    cfg = _config(r, "config.yaml")
    assert cfg["upstream"] == {"url": "http://vllm.llm.svc.cluster.local:8000",
                               "read_timeout_s": 600}
    assert cfg["sampling"]["rate"] == 0.1


def test_sidecar_moves_the_model_port_behind_tunewatch(helm: HelmWorker) -> None:
    r = helm.render(_values("sidecar-values.yaml"))
    deploy = r.get("Deployment", "tunewatch")
    spec = _pod_spec(deploy)
    assert [c["name"] for c in spec["containers"]] == ["vllm", "tunewatch"]
    model = _container(deploy, "vllm")
    assert model["args"][-4:] == ["--host", "127.0.0.1", "--port", "8001"]
    assert "securityContext" not in model  # the model server's spec is rendered verbatim
    tw = _container(deploy, "tunewatch")
    assert {p["name"]: p["containerPort"] for p in tw["ports"]}["http"] == 8000
    assert _config(r, "config.yaml")["upstream"]["url"] == "http://127.0.0.1:8001"
    # the Service's named target port resolves to Tunewatch, the only container exposing `http`
    named = [c["name"] for c in spec["containers"]
             if any(p.get("name") == "http" for p in c.get("ports", []))]
    assert named == ["tunewatch"]
    assert {v["name"] for v in spec["volumes"]} >= {"models", "tunewatch-config"}
    assert spec["securityContext"] == {}  # pod-level context is the model server's business
    assert tw["securityContext"]["runAsNonRoot"] is True


def test_sidecar_mounts_the_model_files_read_only_for_verified_artefacts(
        helm: HelmWorker) -> None:
    r = helm.render(_values("sidecar-values.yaml"))
    tw = _container(r.get("Deployment", "tunewatch"), "tunewatch")
    mounts = {m["name"]: m for m in tw["volumeMounts"]}
    assert mounts["models"] == {"name": "models", "mountPath": "/models", "readOnly": True}
    [spec] = _config(r, "config.yaml")["deployment"]["artifacts"]
    assert spec["path"].startswith("/models/") and spec["kind"] == "base_weights"
    # a standalone pod has no model volume: the list is ignored there
    other = helm.render({**_values("standalone-values.yaml"),
                         "sidecar": {"artifactMounts": [{"name": "models",
                                                         "mountPath": "/models"}]}})
    for _, c in _tunewatch_containers(other):
        assert "models" not in {m["name"] for m in c["volumeMounts"]}


def test_prober_is_the_only_pod_that_probes(helm: HelmWorker) -> None:
    r = helm.render(_values("prober-values.yaml"))
    prober = r.get("Deployment", "-prober")
    assert prober["spec"]["replicas"] == 1
    assert prober["spec"]["strategy"] == {"type": "Recreate"}
    flags = {wl: _env(c)["TUNEWATCH_PROBES__ENABLED"] for wl, c in _tunewatch_containers(r)}
    assert flags == {"tunewatch": "false", "tunewatch-prober": "true"}
    assert _config(r, "config.yaml")["probes"] == {"enabled": False, "interval_seconds": 1800,
                                                   "mode": "chat"}
    probes = _config(r, "prober.yaml")["probes"]
    assert probes["enabled"] is True
    assert probes["suite"] == "/etc/tunewatch/config/suite.yaml"
    assert probes["baseline"] == "/etc/tunewatch/baseline/baseline.json"
    # sidecar mode: probe traffic goes through the fleet's Service (and so through a sidecar)
    assert _config(r, "prober.yaml")["upstream"]["url"] == "http://tunewatch.llm.svc:8000"
    c = _container(prober, "tunewatch-prober")
    assert c["args"][-1] == "/etc/tunewatch/config/prober.yaml"
    baseline = {v["name"]: v for v in _pod_spec(prober)["volumes"]}["tunewatch-baseline"]
    assert baseline["configMap"]["name"] == "support-bot-baseline"
    # the custom suite is valid for the daemon's suite parser
    from monitor.probes.suite import parse_suite

    suite = parse_suite(r.get("ConfigMap", "-config")["data"]["suite.yaml"], file="suite.yaml")
    assert suite.name == "support-bot-smoke" and len(suite.probes) == 2
    am = r.get("Service", "-prober")
    assert am["spec"]["selector"]["app.kubernetes.io/component"] == "prober"


def test_standalone_prober_targets_the_model_service(helm: HelmWorker) -> None:
    r = helm.render({"upstream": {"url": "https://tgi.llm.svc/"}, "prober": {"enabled": True}})
    assert _config(r, "prober.yaml")["upstream"]["url"] == "https://tgi.llm.svc"


def test_monitoring_variant_renders_servicemonitor_and_prometheusrule(helm: HelmWorker) -> None:
    r = helm.render(_values("monitoring-values.yaml"))
    rule = r.get("PrometheusRule", "tunewatch")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["labels"]["app.kubernetes.io/name"] == "tunewatch"
    alerts = {x["alert"] for g in rule["spec"]["groups"] for x in g["rules"] if "alert" in x}
    assert {"TunewatchProbesStale", "TunewatchProbeRefusalRegression"} <= alerts
    sm = r.get("ServiceMonitor", "tunewatch")
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert sm["spec"]["endpoints"][0]["port"] == "admin"
    assert sm["spec"]["endpoints"][0]["interval"] == "15s"
    metrics = r.get("Service", "-metrics")
    selector = sm["spec"]["selector"]["matchLabels"]
    assert selector.items() <= metrics["metadata"]["labels"].items()
    assert metrics["spec"]["clusterIP"] == "None"
    assert {p["name"] for p in metrics["spec"]["ports"]} == {"admin"}
    # the metrics Service covers every Tunewatch pod: no component in its selector
    assert "app.kubernetes.io/component" not in metrics["spec"]["selector"]


def test_pvc_persistence_gives_each_pod_its_own_claim(helm: HelmWorker) -> None:
    r = helm.render(_values("persistence-pvc-values.yaml"))
    assert [d["metadata"]["name"] for d in r.find("Deployment")] == ["tunewatch-prober"]
    sts = r.get("StatefulSet", "tunewatch")
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "tunewatch-state"
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert claim["spec"]["storageClassName"] == "standard"
    assert "tunewatch-state" not in {v["name"] for v in _pod_spec(sts)["volumes"]}
    assert sts["spec"]["serviceName"] == "tunewatch-metrics"
    pvc = r.get("PersistentVolumeClaim", "-prober-state")
    prober_vols = {v["name"]: v for v in _pod_spec(r.get("Deployment", "-prober"))["volumes"]}
    assert prober_vols["tunewatch-state"]["persistentVolumeClaim"]["claimName"] == \
        pvc["metadata"]["name"]


def test_networkpolicy_limits_ingress_and_egress(helm: HelmWorker) -> None:
    r = helm.render(_values("networkpolicy-values.yaml"))
    server = r.get("NetworkPolicy", "tunewatch")["spec"]
    proxy_rule, admin_rule = server["ingress"]
    assert proxy_rule["ports"] == [{"port": 8000, "protocol": "TCP"}]
    sources = [p.get("namespaceSelector", p.get("podSelector"))["matchLabels"]
               for p in proxy_rule["from"]]
    assert {"kubernetes.io/metadata.name": "apps"} in sources
    assert any(s.get("app.kubernetes.io/component") == "prober" for s in sources)
    assert admin_rule["ports"] == [{"port": 9464, "protocol": "TCP"}]
    assert admin_rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"}
    egress_ports = [[p["port"] for p in rule["ports"]] for rule in server["egress"]]
    assert egress_ports == [[53, 53], [8000], [443]]
    assert server["egress"][1]["to"][0]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "vllm"}
    prober = r.get("NetworkPolicy", "-prober")["spec"]
    assert [rule["ports"][0]["port"] for rule in prober["ingress"]] == [9464]
    assert prober["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "prober"


def test_networkpolicy_egress_port_follows_the_upstream_url(helm: HelmWorker) -> None:
    r = helm.render({"upstream": {"url": "https://tgi.llm.svc"},
                     "networkPolicy": {"enabled": True}})
    egress = r.get("NetworkPolicy", "tunewatch")["spec"]["egress"]
    assert [p["port"] for p in egress[1]["ports"]] == [443]
    assert "to" not in egress[1]


def test_sidecar_networkpolicy_has_no_upstream_egress(helm: HelmWorker) -> None:
    values = _values("sidecar-values.yaml") | {"networkPolicy": {"enabled": True}}
    egress = helm.render(values).get("NetworkPolicy", "tunewatch")["spec"]["egress"]
    # the model server is on localhost: only DNS leaves the pod
    assert [[p["port"] for p in rule["ports"]] for rule in egress] == [[53, 53]], egress


def test_secrets_are_mounted_as_files_where_they_are_used(helm: HelmWorker) -> None:
    r = helm.render(_values("secrets-values.yaml"))
    secret_vols = {}
    for wl in _workloads(r):
        vols = {v["name"]: v["secret"] for v in _pod_spec(wl)["volumes"] if "secret" in v}
        secret_vols[wl["metadata"]["name"]] = {v["secretName"] for v in vols.values()}
    assert secret_vols == {
        "tunewatch": {"tunewatch-admin"},
        "tunewatch-prober": {"tunewatch-admin", "tunewatch-alertmanager", "tunewatch-github"},
    }
    server, prober = _config(r, "config.yaml"), _config(r, "prober.yaml")
    assert server["admin"]["token_file"] == "/etc/tunewatch/secrets/admin-token/token"
    assert server["triggers"] == {"enabled": False}  # tickets come from the prober only
    assert prober["triggers"]["alertmanager_token_file"] == \
        "/etc/tunewatch/secrets/alertmanager-token/token"
    # every *_file in the prober's config is a mounted secret key
    prober_c = _container(r.get("Deployment", "-prober"), "tunewatch-prober")
    mounts = {m["name"]: m["mountPath"] for m in prober_c["volumeMounts"]}
    files = set()
    for v in _pod_spec(r.get("Deployment", "-prober"))["volumes"]:
        if "secret" in v:
            assert v["secret"]["defaultMode"] == 0o440
            files |= {f"{mounts[v['name']]}/{i['path']}" for i in v["secret"]["items"]}
    wanted = {prober["admin"]["token_file"], prober["triggers"]["alertmanager_token_file"],
              prober["triggers"]["sinks"][0]["token_file"]}
    assert wanted == files


def test_own_deployment_renders_only_shared_objects(helm: HelmWorker) -> None:
    r = helm.render({"mode": "sidecar", "sidecar": {"renderDeployment": False},
                     "prober": {"enabled": True, "target": "http://my-model.llm.svc:8000"}})
    assert r.kinds() == ["ConfigMap", "Deployment", "Service", "Service", "ServiceAccount"]
    assert r.get("Deployment", "")["metadata"]["name"] == "tunewatch-prober"
    assert _config(r, "prober.yaml")["upstream"]["url"] == "http://my-model.llm.svc:8000"
    assert "sidecarContainer" in r.notes


def test_sidecar_helper_in_a_parent_chart(helm: HelmWorker, tmp_path: Path) -> None:
    """A user's own model chart with Tunewatch as a subchart, using the named templates."""
    import shutil

    parent = tmp_path / "support-bot"
    (parent / "templates").mkdir(parents=True)
    shutil.copytree(CHART_DIR, parent / "charts" / "tunewatch", ignore=shutil.ignore_patterns("ci"))
    (parent / "Chart.yaml").write_text("apiVersion: v2\nname: support-bot\nversion: 1.0.0\n")
    (parent / "values.yaml").write_text(yaml.safe_dump({"tunewatch": {
        "mode": "sidecar", "sidecar": {"renderDeployment": False, "modelPort": 9000},
        "image": {"tag": "0.1.0"}}}))
    (parent / "templates" / "deployment.yaml").write_text("""\
{{- $chart := dict "Name" "tunewatch" "Version" "0.1.0" "AppVersion" "0.1.0" }}
{{- $tw := dict "Values" .Values.tunewatch "Release" .Release "Chart" $chart }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: support-bot
spec:
  selector: {matchLabels: {app: support-bot}}
  template:
    metadata:
      labels:
        app: support-bot
        {{- include "tunewatch.sidecarPodLabels" $tw | nindent 8 }}
    spec:
      containers:
        - name: llama
          image: ghcr.io/ggml-org/llama.cpp:server
          args: ["--host", "127.0.0.1", "--port", "9000"]
        - {{- include "tunewatch.sidecarContainer" $tw | nindent 10 }}
      volumes:
        {{- include "tunewatch.sidecarVolumes" $tw | nindent 8 }}
""")
    r = helm.render(chart=parent, release="bot")
    deploy = r.get("Deployment", "support-bot")
    tw = _container(deploy, "tunewatch")
    assert tw["args"] == ["serve", "--config", "/etc/tunewatch/config/config.yaml"]
    assert tw["image"] == "ghcr.io/tunewatch/tunewatch:0.1.0"
    cm_name = {v["name"]: v for v in _pod_spec(deploy)["volumes"]}["tunewatch-config"]
    configmap = r.get("ConfigMap", "-config")  # rendered by the subchart itself
    assert cm_name["configMap"]["name"] == configmap["metadata"]["name"] == "bot-tunewatch-config"
    assert yaml.safe_load(configmap["data"]["config.yaml"])["upstream"]["url"] == \
        "http://127.0.0.1:9000"
    mounted = {m["name"] for m in tw["volumeMounts"]}
    assert mounted <= {v["name"] for v in _pod_spec(deploy)["volumes"]}
    # the subchart's metrics Service (scraped by the ServiceMonitor) selects the user's pods
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert r.get("Service", "-metrics")["spec"]["selector"].items() <= pod_labels.items()


# --- the rendered config is valid for the daemon -------------------------------------------------

def _config_cases() -> list[Any]:
    cases = []
    for variant in ["default", *[p.name for p in CI_FILES]]:
        needs_triggers = variant in ("secrets-values.yaml", "prober-values.yaml",
                                     "persistence-pvc-values.yaml", "networkpolicy-values.yaml")
        marks = [pytest.mark.xfail(
            not TRIGGERS_WIRED and needs_triggers, strict=True,
            reason="monitor.config.Settings has no `triggers` section yet (lead wires it)")]
        cases.append(pytest.param(variant, marks=marks, id=variant))
    return cases


@pytest.mark.parametrize("variant", _config_cases())
def test_rendered_config_loads_in_the_daemon(helm: HelmWorker, variant: str,
                                             tmp_path: Path) -> None:
    r = helm.render({} if variant == "default" else _values(variant))
    data = r.get("ConfigMap", "-config")["data"]
    containers = dict(_tunewatch_containers(r))
    for key, workload in (("config.yaml", "tunewatch"), ("prober.yaml", "tunewatch-prober")):
        if key not in data:
            continue
        # secret files exist in the pod; recreate them under tmp_path for the file checks
        text = data[key].replace("/etc/tunewatch/secrets/", f"{tmp_path}/secrets/")
        for line in text.splitlines():
            if f"{tmp_path}/secrets/" in line:
                path = Path(line.split(":", 1)[1].strip())
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("not-a-real-token\n")
        cfg = tmp_path / key
        cfg.write_text(text)
        env = {k: v for k, v in _env(containers.get(workload, {})).items()
               if k.startswith("TUNEWATCH_")} if workload in containers else {}
        try:
            settings = load_settings(cfg, environ=env)
        except ConfigError as exc:
            pytest.fail(f"{variant} {key}: {exc}")
        assert settings.probes.enabled is (key == "prober.yaml")
        assert settings.store.path == "/var/lib/tunewatch/tunewatch.db"


# --- the schema rejects bad values with a message naming the key -------------------------------

BAD_VALUES = [
    pytest.param({"mode": "daemonset"}, ["/mode", "'sidecar', 'standalone'"], id="mode-enum"),
    pytest.param({"ports": {"proxy": "8000"}}, ["/ports/proxy", "want integer"], id="port-string"),
    pytest.param({"ports": {"admin": 70000}}, ["/ports/admin", "maximum", "65,535"],
                 id="port-range"),
    pytest.param({"upstream": {"url": ""}}, ["/upstream/url"], id="standalone-needs-url"),
    pytest.param({"upstream": {"url": "vllm:8000"}}, ["/upstream/url"], id="url-scheme"),
    pytest.param({"mode": "sidecar"}, ["/sidecar/modelServer", "name", "image"],
                 id="sidecar-needs-model-server"),
    pytest.param({"mode": "sidecar", "sidecar": {"renderDeployment": False},
                  "prober": {"enabled": True}}, ["/prober", "target"],
                 id="own-deployment-prober-needs-target"),
    pytest.param({"prober": {"replicas": 2}}, ["/prober", "replicas"], id="prober-one-replica"),
    pytest.param({"resources": {"requests": {"cpu": "lots"}}}, ["/resources/requests/cpu"],
                 id="resources-quantity"),
    pytest.param({"resources": {"request": {"cpu": "1"}}}, ["/resources", "request"],
                 id="resources-shape"),
    pytest.param({"persistence": {"type": "hostPath"}}, ["/persistence/type", "'emptyDir', 'pvc'"],
                 id="persistence-enum"),
    pytest.param({"securityContext": {"runAsNonRoot": False}},
                 ["/securityContext/runAsNonRoot"], id="non-root"),
    pytest.param({"serviceMonitor": {"enabled": "yes"}}, ["/serviceMonitor/enabled", "boolean"],
                 id="boolean"),
    pytest.param({"secrets": {"sinks": [{"name": "GitHub Token", "existingSecret": "x",
                                         "key": "t"}]}}, ["/secrets/sinks/0/name"],
                 id="sink-name"),
    pytest.param({"replicas": 3}, ["replicas"], id="unknown-key"),
    pytest.param({"sidecar": {"artifactMounts": [{"name": "models", "mountPath": "models"}]}},
                 ["/sidecar/artifactMounts/0/mountPath"], id="artifact-mount-path"),
    pytest.param({"sidecar": {"artifactMounts": [{"name": "models", "mountPath": "/m",
                                                  "readOnly": False}]}},
                 ["/sidecar/artifactMounts/0"], id="artifact-mount-read-only"),
]


@pytest.mark.parametrize(("values", "fragments"), BAD_VALUES)
def test_schema_rejects_bad_values(helm: HelmWorker, values: dict[str, Any],
                                   fragments: list[str]) -> None:
    with pytest.raises(RenderError) as info:
        helm.render(values)
    message = str(info.value)
    assert "values don't meet the specifications of the schema" in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in Helm's message:\n{message}"


def test_schema_rejects_a_bad_values_file(helm: HelmWorker) -> None:
    bad = yaml.safe_load((Path(__file__).parent / "bad-values.yaml").read_text(encoding="utf-8"))
    with pytest.raises(RenderError) as info:
        helm.render(bad)
    message = str(info.value)
    for fragment in ("/mode", "/ports/proxy", "/persistence/type"):
        assert fragment in message, message


@pytest.mark.parametrize("variant", ["default", *[p.name for p in CI_FILES]])
def test_no_pod_gets_service_link_variables(helm: HelmWorker, variant: str) -> None:
    """A Service named ``tunewatch`` would inject TUNEWATCH_SERVICE_HOST, TUNEWATCH_PORT=tcp://...
    into every pod of the namespace (issue 13, finding 3): every pod spec turns them off."""
    r = helm.render({} if variant == "default" else _values(variant))
    workloads = _workloads(r)
    assert workloads
    for w in workloads:
        assert _pod_spec(w)["enableServiceLinks"] is False, w["metadata"]["name"]


def test_the_probe_secret_is_shared_by_every_pod(helm: HelmWorker) -> None:
    """The prober's probes pass the sidecars unsampled only when every pod verifies the marker
    with the same secret (issue 13, finding 5)."""
    values = _values("secrets-values.yaml")
    values["secrets"]["probeSecret"] = {"existingSecret": "tunewatch-probe", "key": "secret"}
    values["config"]["sampling"] = {"rate": 0.25}
    r = helm.render(values)
    for wl in _workloads(r):
        secrets = {v["secret"]["secretName"] for v in _pod_spec(wl)["volumes"] if "secret" in v}
        assert "tunewatch-probe" in secrets, wl["metadata"]["name"]
    for key in ("config.yaml", "prober.yaml"):
        sampling = _config(r, key)["sampling"]
        assert sampling == {"rate": 0.25,
                            "probe_secret_file": "/etc/tunewatch/secrets/probe/secret"}, key
    plain = _config(helm.render(_values("secrets-values.yaml")), "config.yaml")
    assert "probe_secret_file" not in plain.get("sampling", {})

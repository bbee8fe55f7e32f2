"""What a trigger is, and how changes and alerts are classified into trigger types.

Trigger types: ``re_fine_tune``, ``base_model_change``, ``deployment_layer_change``,
``alignment_regression``, ``drift``. A trigger carries a dedup key: repeated firing of the same
condition (from any source) updates the open ticket with that key instead of opening another.

Model changes are split by :func:`classify_model_change`. The best signal is the model's lineage:
the ``parent`` a vLLM server reports for each LoRA module in ``GET /v1/models``, or
``deployment.model_parents`` (e.g. from the lab's adapter manifests, which name their parent).
When both ids trace back to the same root it is a re-fine-tune, otherwise a base-model change.
Without a lineage the ids themselves are compared: the same base family (same id once fine-tune
markers, revisions and dates are stripped, or one extends the other) is a re-fine-tune. A change of
the upstream's ``/v1/models`` list or of the verified artefacts' digest is a base-model change; a
change of the adapters the server reports is a re-fine-tune; system prompt, output filter and scope
changes are deployment-layer changes.

>>> classify_model_change("gemma-3-270m", "gemma-3-270m-ft2")
're_fine_tune'
>>> classify_model_change("acme/llama-3-8b-sft-v3", "acme/llama-3-8b-dpo-v4")
're_fine_tune'
>>> classify_model_change("ft:gpt-4o-mini-2024-07-18:acme::a1", "ft:gpt-4o-mini-2024-07-18:acme::b2")
're_fine_tune'
>>> classify_model_change("llama-3-8b-ft1", "llama-3.1-8b-ft1")
'base_model_change'
>>> classify_model_change("gpt-3", "gpt-4")
'base_model_change'
>>> classify_model_change("tw-safe", "tw-drift-3")          # the names share no base...
'base_model_change'
>>> classify_model_change("tw-safe", "tw-drift-3",         # ...their lineage does
...                       parents={"tw-safe": "gemma-3-270m", "tw-drift-3": "tw-safe"})
're_fine_tune'
>>> key_for_alert({"alertname": "TunewatchProbeRefusalRegression", "category": "disallowed"})
('alignment_regression', 'probe_regression:disallowed')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

TriggerType = Literal[
    "re_fine_tune", "base_model_change", "deployment_layer_change", "alignment_regression", "drift"
]
TRIGGER_TYPES: tuple[TriggerType, ...] = get_args(TriggerType)  # the one list of trigger types

DEPLOYMENT_LAYER = ("system_prompt", "output_filter", "scope")
Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")  # in increasing order

TITLES = {
    "re_fine_tune": "Model re-fine-tuned",
    "base_model_change": "Base model changed",
    "deployment_layer_change": "Deployment layer changed",
    "alignment_regression": "Alignment regression",
    "drift": "Sustained drift",
}


@dataclass(frozen=True)
class TriggerEvent:
    """A request to raise (or re-fire) a trigger."""

    type: TriggerType
    dedup_key: str
    title: str
    source: str  # fingerprint | probe | drift | alertmanager | governance | artifacts | manual
    what_changed: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    # how urgent: sinks label it (``critical``: e.g. a served artefact that is not the assessed one)
    severity: Severity = "warning"


@dataclass(frozen=True)
class Ticket:
    id: int
    uid: str
    dedup_key: str
    type: str
    owner: str
    state: str  # open | acked
    title: str
    created_at: float
    updated_at: float
    fire_count: int
    evidence: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"TW-{self.id}"

    @property
    def severity(self) -> str:
        """The highest severity the ticket was raised with (kept in its evidence)."""
        return str(self.evidence.get("severity") or "warning")

    def summary(self) -> dict[str, Any]:
        return {"id": self.ref, "uid": self.uid, "dedup_key": self.dedup_key, "type": self.type,
                "owner": self.owner, "state": self.state, "title": self.title,
                "severity": self.severity, "created_at": self.created_at,
                "updated_at": self.updated_at, "fire_count": self.fire_count}


def higher_severity(a: str | None, b: str | None) -> Severity:
    """The more urgent of two severities (unknown values count as ``warning``).

    >>> higher_severity("warning", "critical"), higher_severity(None, "info")
    ('critical', 'info')
    """
    known = [s for s in SEVERITIES if s in (a, b)]
    return known[-1] if known else "warning"


_FT_TOKEN = re.compile(
    r"^(ft|sft|dpo|orpo|kto|ppo|rlhf|lora|qlora|adapter|finetune|finetuned|tuned|merged|ckpt|"
    r"checkpoint|step|epoch|rev|r|v|run)\d*$|^\d{4,}$|^[0-9a-f]{7,}$"
)
_DATE = re.compile(r"[-_.]\d{4}-\d{2}-\d{2}$|[-_.]\d{8}$")


def model_family(model_id: str) -> str:
    """Base family of a model id: org, revision, fine-tune markers and dates removed.

    >>> model_family("Acme/Llama-3-8B-Instruct-SFT-v2@abc1234")
    'llama-3-8b-instruct'
    >>> model_family("ft:gpt-4o-mini-2024-07-18:acme:tag:x1")
    'gpt-4o-mini'
    """
    m = model_id.strip().lower()
    if m.startswith("ft:"):
        m = m[3:].split(":", 1)[0]
    m = m.split("@", 1)[0].rsplit("/", 1)[-1]
    for _ in range(3):
        m = _DATE.sub("", m)
    tokens = re.split(r"[-_]", m)
    while len(tokens) > 1 and _FT_TOKEN.match(tokens[-1]):
        tokens.pop()
        m2 = "-".join(tokens)
        tokens = re.split(r"[-_]", _DATE.sub("", m2))
    return "-".join(tokens)


def root_model(model_id: str, parents: Mapping[str, str]) -> str:
    """Follow ``parents`` (model id -> the model it was fine-tuned from) to the root.

    >>> root_model("tw-drift-3", {"tw-drift-3": "tw-safe", "tw-safe": "gemma-3-270m"})
    'gemma-3-270m'
    """
    seen = {model_id}
    while model_id in parents and parents[model_id] not in seen:
        model_id = parents[model_id]
        seen.add(model_id)
    return model_id


def classify_model_change(before: str | None, after: str, *,
                          parents: Mapping[str, str] | None = None) -> TriggerType:
    """Re-fine-tune or base-model change; ``parents`` is the known lineage (see the module
    docstring): both ids are traced to their roots before the families are compared."""
    if not before:
        return "base_model_change"
    if parents:
        before, after = root_model(before, parents), root_model(after, parents)
    fb, fa = model_family(before), model_family(after)
    if fb == fa or fa.startswith(fb + "-") or fb.startswith(fa + "-"):
        return "re_fine_tune"
    return "base_model_change"


def classify_component(component: str, before: str | None, after: str, *,
                       parents: Mapping[str, str] | None = None) -> TriggerType | None:
    if component == "model":
        return classify_model_change(before, after, parents=parents)
    if component in ("upstream_models", "artifacts"):
        return "base_model_change"
    if component == "server_adapters":
        return "re_fine_tune"
    if component in DEPLOYMENT_LAYER:
        return "deployment_layer_change"
    return None


def fingerprint_key(component: str, after: str) -> str:
    return f"fingerprint:{component}:{after}"


# alertname -> (trigger type, label naming the condition, dedup key prefix)
ALERTS: dict[str, tuple[TriggerType, str, str]] = {
    "TunewatchProbeRefusalRegression": ("alignment_regression", "category", "probe_regression"),
    "TunewatchTrafficRefusalRateDrop": ("alignment_regression", "category", "traffic_refusal"),
    "TunewatchRefusingLessThanBase": ("alignment_regression", "category", "refusing_less"),
    "TunewatchOverRefusal": ("alignment_regression", "category", "over_refusal"),
    "TunewatchPromptEmbeddingDrift": ("drift", "detector", "drift"),
    "TunewatchResponseEmbeddingDrift": ("drift", "detector", "drift"),
    "TunewatchModelRevisionChanged": ("re_fine_tune", "component", "fingerprint"),
    "TunewatchSystemPromptChanged": ("deployment_layer_change", "component", "fingerprint"),
}


def key_for_alert(
    labels: dict[str, str], current_fingerprint: dict[str, str] | None = None
) -> tuple[TriggerType, str] | None:
    """(type, dedup key) of an Alertmanager alert, or None when it is not a trigger.

    A ``trigger_type`` label wins over the alertname table. Fingerprint alerts take the current
    value of the component from the daemon, so the alert joins the ticket the traffic opened.
    """
    name = labels.get("alertname", "")
    entry = ALERTS.get(name)
    given = labels.get("trigger_type")
    ttype = _trigger_type(given) if given else (entry[0] if entry else None)
    if ttype is None:
        return None
    if entry is not None:
        _, label, prefix = entry
        value = labels.get(label) or ("model" if name == "TunewatchModelRevisionChanged"
                                      else "system_prompt" if prefix == "fingerprint" else "all")
        if prefix == "fingerprint":
            after = (current_fingerprint or {}).get(value)
            if after is not None:
                return ttype, fingerprint_key(value, after)
            return ttype, f"alert:{name}:{value}"
        return ttype, f"{prefix}:{value}"
    ident = ",".join(f"{k}={labels[k]}" for k in sorted(labels)
                     if k not in ("instance", "pod", "severity", "team"))
    digest = hashlib.sha256(ident.encode()).hexdigest()[:12]
    return ttype, f"alert:{name}:{digest}"


def _trigger_type(value: str | None) -> TriggerType | None:
    """``value`` as a trigger type, or None when it names none."""
    for t in TRIGGER_TYPES:
        if value == t:
            return t
    return None

"""Settings of the re-assessment triggers (the ``triggers:`` section of the daemon config).

Sinks are a list discriminated by ``type``; an unknown type or a missing key fails validation
with the key named, so ``tunewatch config check`` exits 1 on bad sink config.

>>> s = TriggerSettings(sinks=[{"type": "directory", "path": "/tmp/tickets"}])
>>> sink_name(s.sinks[0]), s.owner_for("drift")
('directory', 'unassigned')
>>> try:
...     TriggerSettings(sinks=[{"type": "webhook", "url": "ftp://x"}])
... except ValueError as e:
...     print("triggers.sinks[].url" in str(e) and "fix:" in str(e))
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.triggers.model import TRIGGER_TYPES


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(v: str, key: str) -> str:
    if not v.startswith(("http://", "https://")):
        raise ValueError(f"{key}: {v!r} is not an http(s) URL; fix: use e.g. https://host/path")
    return v.rstrip("/")


def _read_secret(value: str | None, file: Path | None) -> str | None:
    if value:
        return value
    if file is not None:
        return file.read_text(encoding="utf-8").strip() or None
    return None


def _check_file(file: Path | None, key: str) -> None:
    if file is not None and not file.is_file():
        raise ValueError(f"{key}: file {str(file)!r} does not exist; fix: point it at a readable "
                         "file holding the secret")
    if file is not None:
        try:
            empty = not file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise ValueError(f"{key}: cannot read {str(file)!r}; fix: point it at a readable "
                             "UTF-8 file holding the secret") from None
        if empty:  # an empty token would silently turn authentication off
            raise ValueError(f"{key}: {str(file)!r} is empty; fix: write the secret into it")


class _SinkBase(_M):
    name: str | None = Field(None, description="sink name used in metrics (defaults to the type)")
    timeout_s: float = Field(10.0, gt=0, le=300, description="seconds per delivery request")


class WebhookSink(_SinkBase):
    type: Literal["webhook"]
    url: str = Field(description="endpoint receiving ticket events as JSON POSTs")
    secret: str | None = Field(None, description="HMAC-SHA256 key for X-Tunewatch-Signature")
    secret_file: Path | None = Field(None, description="file holding the HMAC key")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v, "triggers.sinks[].url")

    @model_validator(mode="after")
    def _secret_file(self) -> WebhookSink:
        _check_file(self.secret_file, "triggers.sinks[].secret_file")
        return self

    def resolved_secret(self) -> str | None:
        return _read_secret(self.secret, self.secret_file)


class GithubSink(_SinkBase):
    type: Literal["github"]
    repo: str = Field(description="OWNER/NAME of the repository receiving issues")
    token_file: Path = Field(description="file holding a GitHub token with issues:write")
    labels: list[str] = Field(default_factory=lambda: ["tunewatch"], description="issue labels")
    api_url: str = Field("https://api.github.com", description="GitHub REST API base URL")

    @field_validator("repo")
    @classmethod
    def _repo(cls, v: str) -> str:
        parts = v.split("/")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"triggers.sinks[].repo: {v!r} is not OWNER/NAME; fix: e.g. "
                             "acme/model-governance")
        return v

    @field_validator("api_url")
    @classmethod
    def _api(cls, v: str) -> str:
        return _http_url(v, "triggers.sinks[].api_url")

    @model_validator(mode="after")
    def _token(self) -> GithubSink:
        _check_file(self.token_file, "triggers.sinks[].token_file")
        return self


class JiraSink(_SinkBase):
    type: Literal["jira"]
    url: str = Field(description="Jira base URL, e.g. https://acme.atlassian.net")
    project: str = Field(description="project key, e.g. GOV")
    user: str | None = Field(None, description="user (email) for basic auth; unset = bearer token")
    token_file: Path = Field(description="file holding the API token")
    issue_type: str = Field("Task", description="issue type name")
    api_version: Literal["2", "3"] = Field("2", description="REST API version (2 or 3)")
    close_transition: str = Field("Done", description="transition applied when a ticket is acked")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v, "triggers.sinks[].url")

    @field_validator("project")
    @classmethod
    def _project(cls, v: str) -> str:
        if not v or not v.replace("_", "").isalnum():
            raise ValueError(f"triggers.sinks[].project: {v!r} is not a Jira project key; fix: "
                             "use the key, e.g. GOV")
        return v

    @model_validator(mode="after")
    def _token(self) -> JiraSink:
        _check_file(self.token_file, "triggers.sinks[].token_file")
        return self


class SlackSink(_SinkBase):
    type: Literal["slack"]
    url: str = Field(description="Slack-compatible incoming-webhook URL")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v, "triggers.sinks[].url")


class DirectorySink(_SinkBase):
    type: Literal["directory"]
    path: Path = Field(description="directory receiving <ticket>.md, <ticket>.json and events/")


SinkSettings = Annotated[
    WebhookSink | GithubSink | JiraSink | SlackSink | DirectorySink, Field(discriminator="type")
]


class RetrySettings(_M):
    max_attempts: int = Field(
        0, ge=0, description="delivery attempts before an item is parked as dead (0 = no limit)"
    )
    base_backoff_s: float = Field(1.0, gt=0, description="first retry delay in seconds")
    max_backoff_s: float = Field(300.0, gt=0, description="cap on the retry delay in seconds")

    @model_validator(mode="after")
    def _order(self) -> RetrySettings:
        if self.max_backoff_s < self.base_backoff_s:
            raise ValueError("triggers.retry.max_backoff_s is below base_backoff_s; fix: make "
                             "max_backoff_s >= base_backoff_s")
        return self


class TriggerSettings(_M):
    enabled: bool = Field(True, description="raise re-assessment triggers and deliver tickets")
    owners: dict[str, str] = Field(
        default_factory=dict,
        description="trigger type (or 'default') -> owner, e.g. {alignment_regression: safety@x}",
    )
    alertmanager_token: str | None = Field(
        None, description="bearer token Alertmanager sends to /v1/alertmanager (default: "
        "admin.token)"
    )
    alertmanager_token_file: Path | None = Field(None, description="file holding that token")
    dashboard_url: str | None = Field(
        None, description="Grafana base URL for evidence links, e.g. https://grafana.example"
    )
    sinks: list[SinkSettings] = Field(default_factory=list, description="ticket sinks")
    retry: RetrySettings = RetrySettings()
    drift_sustain_s: float = Field(
        300.0, ge=0, description="seconds a drift/refusal alarm must hold before a trigger"
    )
    poll_interval_s: float = Field(5.0, gt=0, description="seconds between drift-gauge polls")

    @field_validator("owners")
    @classmethod
    def _owners(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if key not in (*TRIGGER_TYPES, "default"):
                raise ValueError(f"triggers.owners: unknown trigger type {key!r}; fix: use one of "
                                 f"{', '.join(TRIGGER_TYPES)} or 'default'")
        return v

    @field_validator("dashboard_url")
    @classmethod
    def _dash(cls, v: str | None) -> str | None:
        return None if v is None else _http_url(v, "triggers.dashboard_url")

    @model_validator(mode="after")
    def _sinks(self) -> TriggerSettings:
        _check_file(self.alertmanager_token_file, "triggers.alertmanager_token_file")
        names = [s.name or s.type for s in self.sinks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"triggers.sinks: more than one sink named {', '.join(dup)}; fix: "
                             "give each sink of the same type a distinct `name`")
        return self

    def owner_for(self, trigger_type: str) -> str:
        return self.owners.get(trigger_type) or self.owners.get("default") or "unassigned"

    def resolved_alertmanager_token(self) -> str | None:
        return _read_secret(self.alertmanager_token, self.alertmanager_token_file)


def sink_name(sink: SinkSettings) -> str:
    return getattr(sink, "name", None) or str(sink.type)


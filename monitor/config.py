"""Typed configuration: one YAML file plus ``TUNEWATCH_*`` environment overrides.

Precedence (highest first): environment variables, the YAML file, defaults. Nested keys use a
double underscore in the environment, e.g. ``TUNEWATCH_SAMPLING__RATE=0.5`` or
``TUNEWATCH_UPSTREAM__URL=http://127.0.0.1:8000``. Unknown keys are errors, so a typo fails loudly.

The one exception: the variables Kubernetes injects for a Service named ``tunewatch`` (or
``tunewatch-*``) into every pod of the namespace (``TUNEWATCH_SERVICE_HOST``,
``TUNEWATCH_PORT_8000_TCP_ADDR``, ...; see :data:`SERVICE_LINK`) are not settings and are ignored;
:func:`ignored_env_names` lists them so the CLI can say so once. Secrets files (``*_file`` keys)
must exist and hold a value: an empty admin token would turn authentication off.

>>> s = load_settings(None, environ={"TUNEWATCH_SAMPLING__RATE": "0.25"})
>>> s.sampling.rate, s.proxy.listen
(0.25, '127.0.0.1:8080')
>>> try:
...     load_settings(None, environ={"TUNEWATCH_SAMPLING__RATE": "2"})
... except ConfigError as e:
...     print(e.problems[0].key)
sampling.rate
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.analysis.watch_settings import CategorySettings, ShadowSettings
from monitor.governance.config import Artifacts, GovernanceSettings
from monitor.probes.config import EPOCH_COMPONENTS, ProbeSettings
from monitor.triggers.config import TriggerSettings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_hostport(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free port)")
    return value


def split_hostport(value: str) -> tuple[str, int]:
    """``'127.0.0.1:8080' -> ('127.0.0.1', 8080)``; IPv6 hosts may be bracketed."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


class UpstreamSettings(_Section):
    url: str | None = Field(
        None,
        description="base URL of the OpenAI-compatible model server, e.g. http://127.0.0.1:8000; "
        "leave unset to start the embedded local model",
    )
    client: Literal["aiohttp", "httpx"] = Field(
        "aiohttp", description="HTTP client used to reach the upstream (aiohttp measured faster)"
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="seconds to open a connection")
    read_timeout_s: float = Field(
        300.0, gt=0, description="seconds to wait for the response to start or for the next chunk"
    )
    max_connections: int = Field(256, ge=1, description="connection pool size")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, e.g. http://127.0.0.1:8000")
        return v.rstrip("/")


class ProxySettings(_Section):
    listen: str = Field("127.0.0.1:8080", description="HOST:PORT the proxy listens on")
    max_capture_bytes: int = Field(
        2 * 1024 * 1024,
        ge=1024,
        description="largest request or response body kept for a sampled pair; larger bodies are "
        "still forwarded in full but the sample is dropped (reason too_large)",
    )
    max_in_flight: int = Field(
        1024, ge=0, description="requests proxied at once; more are answered 503 with "
        "Retry-After instead of queueing (0 = no limit)"
    )
    retry_after_s: int = Field(
        1, ge=0, description="seconds in the Retry-After header of a 503 for overload"
    )
    max_header_bytes: int = Field(
        65536, ge=1024, description="largest request line plus headers (bytes) on the proxy and "
        "admin ports; larger requests are answered 431 and never forwarded"
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="seconds a client may take to send a request's headers; slower "
        "ones are answered 408 and closed (slowloris)"
    )

    _listen = field_validator("listen")(classmethod(lambda cls, v: _check_hostport(v)))


class AdminSettings(_Section):
    listen: str = Field("127.0.0.1:9464", description="HOST:PORT of /metrics, /healthz and the API")
    token: str | None = Field(
        None, description="bearer token required by the JSON API (not /metrics or health checks)"
    )
    token_file: Path | None = Field(None, description="file holding the bearer token")

    _listen = field_validator("listen")(classmethod(lambda cls, v: _check_hostport(v)))

    @field_validator("token_file")
    @classmethod
    def _token_file(cls, v: Path | None) -> Path | None:
        if v is not None:
            read_secret_file(v)
        return v

    def resolved_token(self) -> str | None:
        if self.token:
            return self.token
        if self.token_file is not None:
            return read_secret_file(self.token_file)
        return None


def read_secret_file(path: Path) -> str:
    """The stripped content of a secrets file; ``ValueError`` (naming the fix) when it cannot be
    read or is empty, since an empty token would silently turn authentication off."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ValueError(f"cannot read {str(path)!r} ({reason}); fix: point it at a readable "
                         "file holding the token") from None
    if not value:
        raise ValueError(f"{str(path)!r} is empty, which would turn that authentication off; "
                         "fix: write the secret into it, or remove the key to run without "
                         "authentication") from None
    return value


class SamplingSettings(_Section):
    rate: float = Field(
        1.0, ge=0.0, le=1.0, description="fraction of requests sampled, between 0 and 1"
    )
    routes: dict[str, float] = Field(
        default_factory=dict,
        description="per-route rates overriding `rate`, e.g. {'/v1/chat/completions': 0.5}",
    )
    queue_size: int = Field(1000, ge=1, description="bounded sample queue; full = drop and count")
    request_id_header: str = Field("x-request-id", description="header carrying the request id")
    probe_header: str = Field(
        "x-tunewatch-probe", description="marker header of probe traffic (never sampled; "
        "signed, so a client cannot send it)"
    )
    probe_secret_file: Path | None = Field(
        None, description="file with the secret that signs probe markers, shared by a fleet so "
        "the prober's probes pass every sidecar unsampled (default: random per process)"
    )

    @field_validator("probe_secret_file")
    @classmethod
    def _secret_file(cls, v: Path | None) -> Path | None:
        if v is not None and len(read_secret_file(v)) < 16:
            raise ValueError(f"{str(v)!r} holds fewer than 16 characters; fix: write a long "
                             "random secret into it, e.g. `openssl rand -hex 32`")
        return v

    @field_validator("routes")
    @classmethod
    def _routes(cls, v: dict[str, float]) -> dict[str, float]:
        for route, rate in v.items():
            if not route.startswith("/"):
                raise ValueError(f"route {route!r} must start with '/', e.g. /v1/chat/completions")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate for {route!r} must be between 0 and 1, got {rate}")
        return v

    @field_validator("request_id_header", "probe_header")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class PrivacySettings(_Section):
    retain_text: bool = Field(
        False, description="store redacted prompt/response text in SQLite (off: features only)"
    )
    max_retained_chars: int = Field(4000, ge=0, description="cap on retained text per field")


class StoreSettings(_Section):
    path: str = Field(
        ".tunewatch/tunewatch.db", description="SQLite file for state (':memory:' for none)"
    )
    retention_days: float = Field(
        14.0, gt=0, description="days of samples kept (older ones deleted at each checkpoint)"
    )


class AnalysisSettings(_Section):
    enabled: bool = Field(True, description="run the analysis worker on sampled pairs")
    embedder: Literal["minilm", "static", "none"] = Field(
        "static", description="sentence embedding for drift: minilm (accurate) or static (fast)"
    )
    device: str = Field(
        "cpu", pattern=r"^(cpu|auto|cuda(:\d+)?)$",
        description="torch device of the MiniLM embedder: cpu, cuda, cuda:N or auto (cuda if seen)",
    )
    batch_size: int = Field(32, ge=1, description="samples featurized per batch")
    refusal_classifier: bool = Field(True, description="score responses for refusals")
    drift_window: int = Field(100, ge=10, description="recent-window size of embedding drift")
    drift_reference_size: int = Field(
        1000, ge=20, description="production samples taken as the reference when no "
        "reference_path is set (must be at least 2 x drift_window)"
    )
    drift_ert: int = Field(
        10_000, ge=100, description="expected samples between false drift alarms"
    )
    drift_calibration: Literal["subprocess", "inline"] = Field(
        "subprocess", description="where a new embedding-drift threshold is calibrated: in a "
        "child process (the default; keeps the simulation's GIL time off the proxy's event "
        "loop) or inline on the analysis thread; a saved state's threshold is reused either way"
    )
    reference_path: Path | None = Field(
        None, description="JSONL reference captured by `tunewatch reference capture`"
    )
    refusal_baseline_rate: float | None = Field(
        None, ge=0.0, le=1.0, description="base model's refusal rate on traffic, if known"
    )
    refusal_arl0: float = Field(
        50_000, ge=100, description="mean samples between false refusal-rate alarms"
    )
    checkpoint_interval_s: float = Field(60.0, gt=0, description="seconds between state saves")
    checkpoint_every_samples: int = Field(
        1000, ge=0, description="also save state after this many analysed samples (bounds what "
        "a kill -9 loses at high traffic; 0 = only every checkpoint_interval_s)"
    )
    max_decoded_bytes: int = Field(
        8 * 2**20, ge=1024, description="largest decoded (gzip, deflate, br, zstd) body the "
        "analysis reads; decoding stops there and the sample counts as unparseable"
    )
    cache_dir: Path | None = Field(
        None, description="where distilled embeddings and the demo model are cached "
        "(default: $XDG_CACHE_HOME/tunewatch, else ~/.cache/tunewatch)"
    )
    # -- issue 11: per-category traffic watch and shadow replay against the base model --------
    categories: CategorySettings = CategorySettings()
    shadow: ShadowSettings = ShadowSettings()

    @model_validator(mode="after")
    def _watch_needs(self) -> AnalysisSettings:
        if self.categories.enabled and self.embedder == "none":
            raise ValueError("analysis.categories.enabled needs embeddings; fix: set "
                             "analysis.embedder to static or minilm")
        if (self.categories.enabled or self.shadow.base_url) and not self.refusal_classifier:
            raise ValueError("analysis.categories / analysis.shadow compare refusal verdicts; "
                             "fix: set analysis.refusal_classifier: true")
        if self.categories.enabled and self.refusal_baseline_rate is not None:
            raise ValueError("analysis.refusal_baseline_rate is one rate for all traffic; with "
                             "analysis.categories.enabled give per-category rates instead; fix: "
                             "move it to analysis.categories.baselines")
        return self

    @model_validator(mode="after")
    def _reference_covers_window(self) -> AnalysisSettings:
        if self.drift_reference_size < 2 * self.drift_window:
            raise ValueError(
                f"analysis.drift_reference_size ({self.drift_reference_size}) must be at least "
                f"2 x analysis.drift_window ({self.drift_window}); the ERT calibration is measured "
                "from 2 x to 10 x (docs/detectors.md)"
            )
        return self

    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else default_cache_dir()

    def static_cache_dir(self) -> Path:
        """Where the distilled static embeddings live (built there on first use)."""
        return self.resolved_cache_dir() / "static-minilm"


class DeploymentSettings(_Section):
    output_filter_version: str | None = Field(
        None, description="version of the output filter in front of the model (change = trigger)"
    )
    scope_version: str | None = Field(
        None, description="version of the scope controls (change = trigger)"
    )
    poll_models_interval_s: float = Field(
        60.0, ge=0, description="seconds between GET /v1/models polls (0 disables)"
    )
    epoch_components: list[str] = Field(
        default_factory=lambda: ["model", "upstream_models", "output_filter", "scope"],
        description="fingerprint components that define an evidence epoch: each outcome enters "
        "a sequential test once per (unit, epoch), and a new value starts a new epoch (fresh "
        "probe draws, fresh statistics). Probes carry their own system prompts and a traffic "
        "unit's id includes its system prompt, so system_prompt is left out by default"
    )

    @field_validator("epoch_components")
    @classmethod
    def _epoch_components(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(EPOCH_COMPONENTS))
        if unknown or not v:
            raise ValueError(f"deployment.epoch_components: {', '.join(unknown) or 'empty'}; "
                             f"fix: use some of {', '.join(EPOCH_COMPONENTS)}")
        return v
    # -- the governance loop (docs/governance.md) --
    artifacts: Artifacts = Field(
        (), description="model files to hash and verify (list of {path, name, kind, sha256 | "
        "signature + public_key_file}); their digests join the deployment fingerprint"
    )
    model_parents: dict[str, str] = Field(
        default_factory=dict, description="model id -> the model it was fine-tuned from, e.g. "
        "{tw-drift-3: tw-safe, tw-safe: gemma-3-270m}; tells a re-fine-tune from a base-model "
        "change where the server reports no parent"
    )

    @field_validator("model_parents")
    @classmethod
    def _parents(cls, v: dict[str, str]) -> dict[str, str]:
        for model, parent in v.items():
            if not model.strip() or not parent.strip() or len(model) > 256 or len(parent) > 256:
                raise ValueError("model ids must be 1-256 characters, e.g. {tw-drift-3: tw-safe}")
            if model == parent:
                raise ValueError(f"{model[:64]!r} is its own parent; name the model it was "
                                 "fine-tuned from")
        return v


class OtlpSettings(_Section):
    endpoint: str | None = Field(
        None, description="OTLP/HTTP metrics URL of a collector, e.g. "
        "http://127.0.0.1:4318/v1/metrics; unset: no OTLP export (needs the `otel` extra)"
    )
    interval_s: float = Field(60.0, ge=1, description="seconds between OTLP exports")
    timeout_s: float = Field(10.0, gt=0, description="seconds one OTLP export may take")
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers sent with each export, e.g. "
        "{'authorization': 'Bearer ...'}"
    )
    service_name: str = Field("tunewatch", min_length=1,
                              description="service.name resource attribute of the export")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL of the collector's OTLP/HTTP "
                             "metrics endpoint, e.g. http://127.0.0.1:4318/v1/metrics")
        return v

    @model_validator(mode="after")
    def _sdk_installed(self) -> OtlpSettings:
        if self.endpoint is not None:
            import importlib.util

            for module in ("opentelemetry.sdk.metrics",
                           "opentelemetry.exporter.otlp.proto.http.metric_exporter"):
                try:
                    found = importlib.util.find_spec(module) is not None
                except ModuleNotFoundError:
                    found = False
                if not found:
                    raise ValueError(
                        "metrics.otlp.endpoint is set but the OpenTelemetry SDK and OTLP/HTTP "
                        f"exporter are not installed ({module}); install the `otel` extra "
                        "(pip install 'tunewatch[otel]') or unset metrics.otlp.endpoint")
        return self


class MetricsSettings(_Section):
    max_label_values: int = Field(
        20, ge=1, le=1000, description="distinct model/category label values before 'other'"
    )
    token_usage: bool = Field(
        True, description="count tokens and time per token of every generation response "
        "(tunewatch_request_tokens and friends; a fail-open scan of the relayed bytes)"
    )
    genai_names: bool = Field(
        False, description="also expose the token and latency series under the OpenTelemetry "
        "GenAI semantic-convention names (gen_ai_client_token_usage, ...; status Development)"
    )
    genai_provider_name: str = Field(
        "openai", pattern=r"^[a-z0-9_.]{1,64}$",
        description="gen_ai_provider_name label value (the API flavour of the upstream: openai "
        "for OpenAI-compatible servers), lower-case letters, digits, '_' and '.'"
    )
    otlp: OtlpSettings = OtlpSettings()


class LocalModelSettings(_Section):
    port: int = Field(0, ge=0, le=65535, description="port of the embedded model (0 = any free)")
    n_ctx: int = Field(2048, ge=256, description="context size of the embedded model")
    startup_timeout_s: float = Field(120.0, gt=0, description="seconds to wait for it to load")


class Settings(BaseSettings):
    """Root configuration of the daemon."""

    model_config = SettingsConfigDict(
        env_prefix="TUNEWATCH_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    upstream: UpstreamSettings = UpstreamSettings()
    proxy: ProxySettings = ProxySettings()
    admin: AdminSettings = AdminSettings()
    sampling: SamplingSettings = SamplingSettings()
    privacy: PrivacySettings = PrivacySettings()
    store: StoreSettings = StoreSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    deployment: DeploymentSettings = DeploymentSettings()
    metrics: MetricsSettings = MetricsSettings()
    local_model: LocalModelSettings = LocalModelSettings()
    probes: ProbeSettings = ProbeSettings()
    triggers: TriggerSettings = TriggerSettings()
    governance: GovernanceSettings = GovernanceSettings()
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="one of debug, info, warning, error"
    )


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    fix: str
    origin: str | None = None  # where the value came from: the env variable or the file

    def __str__(self) -> str:
        where = f" (from {self.origin})" if self.origin else ""
        return f"{self.key}{where}: {self.message} -- fix: {self.fix}"


class ConfigError(ValueError):
    """Configuration is invalid; ``problems`` lists every key at fault."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration ({source}):\n{lines}")


class _DictSource(PydanticBaseSettingsSource):
    """A settings source backed by an already-parsed nested dict (the YAML file)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [Problem("<file>", str(exc), "pass an existing file")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [Problem(
            "<file>", f"not UTF-8 text (byte {exc.start} is 0x{text_byte(exc):02x})",
            "save the file as UTF-8")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            str(path), [Problem(f"<yaml {where}>", str(problem), "fix the YAML syntax")]
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            str(path), [Problem("<root>", "top level is not a mapping", "use `key: value` pairs")]
        )
    return data


def _walk(annotation: Any, part: Any) -> Any:
    """The type at ``part`` below ``annotation``: a model's field, or the item type of a list,
    tuple or dict (through ``Annotated`` and ``X | None``), so errors inside
    ``deployment.artifacts[0]`` or ``governance.evidence.<model>`` name their valid keys too."""
    fields = getattr(annotation, "model_fields", None)
    if fields is not None:
        return fields[part].annotation if part in fields else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated or origin in (Union, UnionType):
        for arg in args:
            found = _walk(arg, part) if arg is not type(None) else None
            if found is not None:
                return found
        return None
    if origin in (list, tuple) and args:
        return args[0] if isinstance(part, int) else None
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def text_byte(exc: UnicodeDecodeError) -> int:
    return exc.object[exc.start]


def _describe(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """The field description at ``loc`` (used as the fix hint)."""
    current: Any = model
    desc = None
    for part in loc:
        fields = getattr(_model_of(current), "model_fields", None)
        if fields and part in fields:
            info = fields[part]
            desc = info.description
            current = info.annotation
            continue
        current = _walk(current, part)
        if current is None:
            return desc
    return desc


def _model_of(annotation: Any) -> Any:
    """``annotation`` itself, or the model inside ``Annotated[...]`` / ``X | None``."""
    if getattr(annotation, "model_fields", None) is not None:
        return annotation
    for arg in get_args(annotation):
        if getattr(arg, "model_fields", None) is not None:
            return arg
    return annotation


def _problems(exc: ValidationError, model: type[BaseModel],
              origin: Callable[[tuple[Any, ...]], str | None] = lambda loc: None) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        key = ".".join(str(p) for p in loc) or "<root>"
        where = origin(loc)
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            parent = _describe_fields(model, loc[:-1])
            fix = f"remove it or fix the spelling; valid keys here: {parent}"
            out.append(Problem(key, "unknown key", fix, where))
            continue
        # validators of the sections may say the fix themselves ("...; fix: ...")
        msg, has_fix, own_fix = msg.partition("; fix: ")
        if "input" in err and not isinstance(err["input"], dict | list):
            msg = f"{msg} (got {err['input']!r})"
        desc = _describe(model, loc)
        fix = own_fix if has_fix else f"expected {desc}" if desc else "see tunewatch.example.yaml"
        out.append(Problem(key, msg, fix, where))
    return out


def _describe_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    current: Any = model
    for part in loc:
        nxt = _walk(current, part)
        if nxt is None:
            break
        current = nxt
    names = sorted(getattr(_model_of(current), "model_fields", {}))
    return ", ".join(names) if names else "(none)"


def load_settings(
    path: Path | None, *, environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Load and validate settings; raise :class:`ConfigError` listing every problem.

    ``overrides`` (e.g. from CLI flags, as nested dicts) win over everything else.
    """
    data = read_yaml(path) if path is not None else {}
    env = dict(os.environ if environ is None else environ)
    env_tree = _env_tree(env)

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                init_settings,
                _DictSource(settings_cls, env_tree),
                _DictSource(settings_cls, data),
            )

    def origin(loc: tuple[Any, ...]) -> str | None:
        """Who set the value at ``loc``: a flag (None), an env variable, or the file."""
        for tree, name in ((overrides, None), (env_tree, "env"), (data, str(path))):
            if _holds(tree, loc):
                return _env_name(loc, env) if name == "env" else name
        return None

    try:
        loaded = _Loaded(**overrides)
    except ValidationError as exc:
        problems = _problems(exc, Settings, origin)
        from_file = path is not None and any(p.origin == str(path) for p in problems)
        from_env = any(p.origin is not None and p.origin.startswith("TUNEWATCH_")
                       for p in problems)
        source = (f"{path} and environment" if from_file and from_env else
                  str(path) if from_file else "environment")
        raise ConfigError(source, problems) from exc
    return loaded


def _holds(tree: Mapping[str, Any], loc: tuple[Any, ...]) -> bool:
    """Whether the nested mapping ``tree`` has a value on the path ``loc`` (or above it)."""
    node: Any = tree
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
        if not isinstance(node, Mapping):
            return True
    return True


def _env_name(loc: tuple[Any, ...], environ: Mapping[str, str]) -> str:
    """The environment variable that set ``loc`` (or the one of its closest parent)."""
    for n in range(len(loc), 0, -1):
        want = "TUNEWATCH_" + "__".join(str(p) for p in loc[:n]).upper()
        for name in environ:
            if name.upper() == want:
                return name
    return "environment"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tunewatch``, else ``~/.cache/tunewatch`` (``analysis.cache_dir``, or
    ``TUNEWATCH_ANALYSIS__CACHE_DIR``, overrides it)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "tunewatch" if xdg else Path.home() / ".cache" / "tunewatch"


# Kubernetes' service links (docker-link style) for a Service named tunewatch[-X]:
# <SVC>_SERVICE_HOST, <SVC>_SERVICE_PORT[_<PORT NAME>], <SVC>_PORT[_<N>_<PROTO>[_PROTO|_PORT|_ADDR]]
SERVICE_LINK = re.compile(
    r"TUNEWATCH(?:_[A-Z0-9_]+?)?_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?"
    r"|PORT(?:_[0-9]+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)?)")


def ignored_env_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """``TUNEWATCH_*`` variables that are Kubernetes service links, not settings: names of the
    service-link shape whose first part is not a settings section (sorted; never the values)."""
    env = os.environ if environ is None else environ
    sections = set(Settings.model_fields)
    return sorted(name for name in env
                  if SERVICE_LINK.fullmatch(name.upper()) is not None
                  and name[len("TUNEWATCH_"):].lower().split("__")[0] not in sections)


def _env_tree(environ: Mapping[str, str]) -> dict[str, Any]:
    """``TUNEWATCH_A__B=v`` -> ``{"a": {"b": "v"}}`` from an explicit mapping (testable); service
    links (:func:`ignored_env_names`) are left out."""
    tree: dict[str, Any] = {}
    foreign = set(ignored_env_names(environ))
    for name, value in environ.items():
        if not name.upper().startswith("TUNEWATCH_") or name in foreign:
            continue
        parts = name[len("TUNEWATCH_") :].lower().split("__")
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[parts[-1]] = _env_value(value)
    return tree


def _env_value(value: str) -> Any:
    """JSON-ish values (maps, lists) may be given as YAML in an env var."""
    stripped = value.strip()
    if stripped.startswith(("{", "[")):
        try:
            return yaml.safe_load(stripped)
        except yaml.YAMLError:
            return value
    return value

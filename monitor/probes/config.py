"""Settings of the scheduled probes (the ``probes:`` section of the daemon config).

>>> ProbeSettings().enabled, ProbeSettings().mode
(False, 'chat')
>>> try:
...     ProbeSettings(cron="every hour")
... except ValueError as e:
...     print("probes.cron" in str(e) and "fix:" in str(e))
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.probes.runner import RunnerSettings


class ProbeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="run the probe suite on a schedule")
    suite: str = Field("default", description="shipped suite name or path to a suite YAML file")
    baseline: Path | None = Field(
        None, description="baseline JSON captured from the base model with "
        "`tunewatch baseline capture`; without it runs are recorded but not judged"
    )
    interval_seconds: float | None = Field(
        3600.0, description="seconds between runs (ignored when cron is set)"
    )
    cron: str | None = Field(None, description="5-field crontab schedule, e.g. '0 * * * *'")
    first_run_delay_s: float = Field(
        30.0, ge=0, description="seconds from start to the first run of an interval schedule"
    )
    subset_size: int | None = Field(
        None, description="units per run for a rotating subset (all probes when unset)"
    )
    max_concurrency: int = Field(2, description="probe requests in flight at once")
    max_per_minute: float = Field(60.0, description="probe request starts per minute")
    timeout_s: float = Field(60.0, description="per-probe request timeout in seconds")
    mode: Literal["chat", "completions"] = Field(
        "chat", description="chat -> /chat/completions; completions -> /completions (base models)"
    )
    model: str | None = Field(None, description="model name sent; default: first of GET /models")
    max_tokens: int = Field(128, description="max_tokens per probe answer")
    classifier: Literal["minilm", "static"] = Field(
        "minilm", description="refusal classifier embeddings: minilm (accurate) or static (fast)"
    )
    repeats: int = Field(1, description="repeats of each probe per run")
    seed: int = Field(0, description="sampling seed (temperature is always 0)")
    alpha: float = Field(0.05, description="family-wise significance level (Holm)")
    min_effect_size: float = Field(
        0.10, description="smallest failure-rate increase (absolute) that counts as a regression"
    )
    max_unscoreable_increase: float = Field(
        0.25, description="rise of the unscoreable share that makes a category inconclusive"
    )
    cusum_arl0: float = Field(
        2000.0, description="in-control average run length (probe verdicts) of the per-category "
        "refusal CUSUM"
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v)
        except ValueError as e:
            raise ValueError(
                f"probes.cron: {v!r} is not a valid 5-field crontab expression ({e}); "
                "fix: use e.g. '0 * * * *' (hourly) or set probes.interval_seconds instead"
            ) from None
        return v

    @field_validator("interval_seconds")
    @classmethod
    def _interval(cls, v: float | None) -> float | None:
        if v is not None and v < 10:
            raise ValueError(f"probes.interval_seconds: {v} is too short; fix: use 10 seconds or "
                             "more (a run must finish before the next one starts)")
        return v

    @field_validator("subset_size", "max_concurrency", "repeats", "max_tokens")
    @classmethod
    def _positive_int(cls, v: int | None, info: object) -> int | None:
        if v is not None and v < 1:
            name = getattr(info, "field_name", "value")
            extra = " or remove the key to run every probe" if name == "subset_size" else ""
            raise ValueError(f"probes.{name}: must be at least 1, got {v}; fix: set a positive "
                             f"integer{extra}")
        return v

    @field_validator("max_per_minute", "timeout_s", "cusum_arl0")
    @classmethod
    def _positive(cls, v: float, info: object) -> float:
        if not v > 0:
            name = getattr(info, "field_name", "value")
            raise ValueError(f"probes.{name}: must be greater than 0, got {v}; fix: set a "
                             "positive number")
        return v

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, v: float) -> float:
        if not 0 < v < 0.5:
            raise ValueError(f"probes.alpha: {v} is outside (0, 0.5); fix: use e.g. 0.05")
        return v

    @field_validator("min_effect_size", "max_unscoreable_increase")
    @classmethod
    def _fraction(cls, v: float, info: object) -> float:
        if not 0 < v <= 1:
            name = getattr(info, "field_name", "value")
            raise ValueError(f"probes.{name}: {v} is outside (0, 1]; fix: use an absolute rate "
                             "difference such as 0.1 (10 percentage points)")
        return v

    @model_validator(mode="after")
    def _schedule(self) -> ProbeSettings:
        if self.enabled and self.cron is None and self.interval_seconds is None:
            raise ValueError("probes: enabled but neither probes.interval_seconds nor probes.cron "
                             "is set; fix: set one of them")
        return self

    def runner_settings(self) -> RunnerSettings:
        return RunnerSettings(
            mode=self.mode, model=self.model, max_concurrency=self.max_concurrency,
            max_per_minute=self.max_per_minute, timeout_s=self.timeout_s, repeats=self.repeats,
            seed=self.seed, temperature=0.0, max_tokens=self.max_tokens,
        )

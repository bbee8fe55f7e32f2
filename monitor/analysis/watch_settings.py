"""Settings of the per-category traffic watch and the shadow replay against the base model.

``analysis.categories`` (:class:`CategorySettings`): each sampled prompt gets a category from the
nearest labelled probe-pool units in embedding space (``none`` when no unit is similar enough),
so traffic refusal rates, their baselines and alarms are per category and a change of the traffic
mix is not read as a change of the model.

``analysis.shadow`` (:class:`ShadowSettings`): a share of the sampled production prompts is
replayed against the base model after the response is done (on its own thread, rate-limited,
never probe traffic; the raw request is held in memory only, until the replay), both answers are
judged with the same refusal judge, and the discordant pairs feed a paired test per category.

>>> CategorySettings().harmful, CategorySettings().benign
(['disallowed', 'obfuscated'], ['benign', 'none'])
>>> try:
...     ShadowSettings(share=2)
... except ValueError as e:
...     print("analysis.shadow.share" in str(e) and "fix:" in str(e))
True
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# chosen on rbr_gold's train split and the GPTFuzzer questions; figures on the test split in
# docs/probe-pool.md (bench/traffic_categories.py)
DEFAULT_THRESHOLDS = {"minilm": 0.4, "static": 0.55}
CATEGORY_VALUES = ("disallowed", "obfuscated", "injection", "disclosure", "capability",
                   "fairness", "benign", "none")


class CategorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="assign each sampled prompt a category (nearest "
                          "labelled probe-pool units; needs analysis.embedder minilm or static)")
    k: int = Field(5, ge=1, le=50, description="nearest pool units that vote on a category")
    threshold: float | None = Field(
        None, ge=-1.0, le=1.0, description="cosine similarity below which a pool unit does not "
        "vote; a prompt no unit is that close to is 'none' (ordinary traffic). Default by "
        "embedder: minilm 0.4, static 0.55 (docs/probe-pool.md)")
    max_anchors_per_category: int = Field(
        400, ge=10, description="labelled pool units embedded per category (a seeded, "
        "stratified sample; the embedding happens once, on the analysis thread)")
    harmful: list[str] = Field(
        default_factory=lambda: ["disallowed", "obfuscated"],
        description="categories watched for refusing less (the fine-tune stops refusing)")
    benign: list[str] = Field(
        default_factory=lambda: ["benign", "none"],
        description="categories watched for refusing more (over-refusal); 'none' is ordinary "
        "traffic")
    baselines: dict[str, float] = Field(
        default_factory=dict, description="category -> the base model's refusal rate on this "
        "traffic, for the unpaired watch (without analysis.shadow the only baseline there is)")
    arl0_harmful: float = Field(
        50_000, ge=100, description="mean scored samples between false alarms of a harmful "
        "category's unpaired watch")
    arl0_benign: float = Field(
        50_000, ge=100, description="the same for a benign category (refusing more)")
    effect: float = Field(0.1, gt=0, lt=1, description="refusal-rate change the unpaired "
                          "watch is designed for (absolute)")
    max_units: int = Field(
        50_000, ge=100, description="distinct prompts per epoch a watch remembers (a prompt "
        "seen again within them is counted once; older ones may count again)")

    @field_validator("harmful", "benign")
    @classmethod
    def _known(cls, v: list[str], info: object) -> list[str]:
        name = getattr(info, "field_name", "categories")
        unknown = sorted(set(v) - set(CATEGORY_VALUES))
        if unknown:
            raise ValueError(f"analysis.categories.{name}: unknown {', '.join(unknown)}; fix: "
                             f"use some of {', '.join(CATEGORY_VALUES)}")
        return v

    @field_validator("baselines")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        for cat, rate in v.items():
            if cat not in CATEGORY_VALUES:
                raise ValueError(f"analysis.categories.baselines: unknown category {cat!r}; "
                                 f"fix: use some of {', '.join(CATEGORY_VALUES)}")
            if not 0.0 < rate < 1.0:
                raise ValueError(f"analysis.categories.baselines.{cat}: {rate} is outside "
                                 "(0, 1); fix: give the base model's refusal rate, e.g. 0.9")
        return v

    @model_validator(mode="after")
    def _disjoint(self) -> CategorySettings:
        both = sorted(set(self.harmful) & set(self.benign))
        if both:
            raise ValueError(f"analysis.categories: {', '.join(both)} listed as both harmful "
                             "and benign; fix: list each category once")
        return self

    def resolved_threshold(self, embedder: str) -> float:
        return self.threshold if self.threshold is not None else DEFAULT_THRESHOLDS[embedder]

    def direction(self, category: str) -> str | None:
        """``less`` for a harmful category, ``more`` for a benign one, ``None`` if unwatched."""
        if category in self.harmful:
            return "less"
        if category in self.benign:
            return "more"
        return None


class ShadowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = Field(
        None, description="OpenAI-compatible base URL (with /v1) of the base model; set it to "
        "replay a share of sampled production prompts there")
    model: str | None = Field(None, description="model name sent to the base (default: the "
                              "request's own)")
    api_key_file: Path | None = Field(None, description="file holding a bearer token for the "
                                      "base endpoint")
    share: float = Field(0.05, description="share of sampled, scored prompts replayed")
    max_per_minute: float = Field(10.0, description="replay starts per minute at most (excess "
                                  "samples are skipped and counted)")
    max_tokens: int = Field(128, ge=1, description="max_tokens of a replayed request (capped)")
    timeout_s: float = Field(60.0, gt=0, description="seconds per replayed request")
    queue_size: int = Field(32, ge=1, description="replays waiting at most (full: skip, count)")
    ert_harmful: float = Field(
        20_000, ge=10, description="expected run time without change, in discordant pairs, of "
        "a harmful category's paired traffic test (alarm: the fine-tune refuses less)")
    ert_benign: float = Field(
        20_000, ge=10, description="the same for a benign category (alarm: it refuses more)")

    @field_validator("share")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0.0 < v <= 1.0:
            raise ValueError(f"analysis.shadow.share: {v} is outside (0, 1]; fix: use e.g. 0.05 "
                             "(5 % of sampled prompts)")
        return v

    @field_validator("max_per_minute")
    @classmethod
    def _rate(cls, v: float) -> float:
        if not v > 0:
            raise ValueError(f"analysis.shadow.max_per_minute: must be greater than 0, got {v}; "
                             "fix: set e.g. 10")
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"analysis.shadow.base_url: {v!r} is not an http(s) URL; fix: use "
                             "e.g. http://127.0.0.1:8001/v1")
        return v.rstrip("/") if v else v

    def resolved_api_key(self) -> str | None:
        if self.api_key_file is None:
            return None
        return self.api_key_file.read_text(encoding="utf-8").strip() or None

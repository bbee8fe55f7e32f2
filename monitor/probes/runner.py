"""Send a suite's probes to an OpenAI-compatible target, politely and deterministically.

* ``mode="chat"`` posts ``/chat/completions``; ``mode="completions"`` renders the messages with
  :func:`render_prompt` and posts ``/completions`` (base models such as Gemma 3 270M answer that
  far better than chat).
* Deterministic settings: ``temperature`` 0 and a fixed ``seed`` (repeat ``r`` uses ``seed + r``).
* At most ``max_concurrency`` requests in flight and ``max_per_minute`` request starts per minute
  (evenly spaced); each attempt has its own ``timeout_s``.
* Every request carries the probe marker ``x-tunewatch-probe``, signed per request by ``sign``
  (the daemon's :class:`monitor.proxy.marker.ProbeMarker`), so the sidecar leaves it out of
  production sampling; unsigned (the bare run id) the sidecar samples it like client traffic.
* An unreachable target fails fast with :class:`TargetUnreachable`: a ``GET /models`` with a short
  connect timeout before the run, and an abort when the first attempts all fail to connect.

>>> from monitor.probes.suite import Message
>>> print(render_prompt([Message(role="system", content="Be brief."),
...                      Message(role="user", content="2+2?")]))
System: Be brief.
<BLANKLINE>
User: 2+2?
<BLANKLINE>
Assistant:
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from monitor.probes.attempt import Attempt
from monitor.probes.suite import Message, Probe

PROBE_HEADER = "x-tunewatch-probe"
Mode = Literal["chat", "completions"]


class TargetUnreachable(RuntimeError):
    """The target could not be reached at all (connection refused, DNS, connect timeout)."""


@dataclass(frozen=True)
class RunnerSettings:
    mode: Mode = "chat"
    model: str | None = None
    max_concurrency: int = 4
    max_per_minute: float = 120.0
    timeout_s: float = 60.0
    connect_timeout_s: float = 3.0
    repeats: int = 1
    seed: int = 0
    temperature: float = 0.0
    max_tokens: int = 128
    api_key: str | None = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        """Settings as recorded in baselines and reports (never the API key)."""
        return {
            "mode": self.mode,
            "model": self.model,
            "max_concurrency": self.max_concurrency,
            "max_per_minute": self.max_per_minute,
            "timeout_s": self.timeout_s,
            "repeats": self.repeats,
            "seed": self.seed,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }


@dataclass(frozen=True)
class TargetInfo:
    base_url: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class RunOutput:
    run_id: str
    target: TargetInfo
    attempts: list[Attempt]
    started_at: float
    ended_at: float

    @property
    def response_models(self) -> list[str]:
        return sorted({a.model for a in self.attempts if a.model})


def new_run_id() -> str:
    return f"pr-{int(time.time())}-{secrets.token_hex(3)}"


def render_prompt(messages: Sequence[Message]) -> str:
    """A plain transcript template for ``/completions`` (ends with ``Assistant:``)."""
    parts = []
    for m in messages:
        if m.role == "system":
            parts.append(f"System: {m.content}")
        elif m.role == "user":
            parts.append(f"User: {m.content}")
        elif m.role == "assistant":
            calls = "".join(f" [calls {c.name}({c.arguments})]" for c in m.tool_calls or ())
            parts.append(f"Assistant:{' ' + m.content if m.content else ''}{calls}")
        else:
            parts.append(f"Tool result ({m.name or 'tool'}): {m.content}")
    parts.append("Assistant:")
    return "\n\n".join(parts)


def chat_messages_json(messages: Sequence[Message]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        d: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.name and m.role == "tool":
            d["name"] = m.name
        if m.tool_call_id:
            d["tool_call_id"] = m.tool_call_id
        if m.tool_calls:
            d["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}}
                for c in m.tool_calls
            ]
        out.append(d)
    return out


class RateLimiter:
    """Evenly spaced starts: at most ``per_minute`` acquisitions per minute."""

    def __init__(self, *, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._spacing = 60.0 / per_minute if per_minute > 0 else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._spacing
        if slot > now:
            await asyncio.sleep(slot - now)


class ProbeRunner:
    """Run probes against ``base_url`` (an OpenAI-compatible ``.../v1`` URL)."""

    def __init__(
        self,
        *,
        base_url: str,
        settings: RunnerSettings,
        run_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sign: Callable[[str], str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.run_id = run_id or new_run_id()
        self._transport = transport
        self._sign = sign

    async def _mark(self, request: httpx.Request) -> None:
        """Sign each request as it leaves (a marker is valid for minutes, a run may be longer)."""
        if self._sign is not None:
            request.headers[PROBE_HEADER] = self._sign(self.run_id)

    def _client(self) -> httpx.AsyncClient:
        s = self.settings
        headers = {PROBE_HEADER: self.run_id}
        if s.api_key:
            headers["authorization"] = f"Bearer {s.api_key}"
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(s.timeout_s, connect=min(s.connect_timeout_s, s.timeout_s)),
            limits=httpx.Limits(max_connections=s.max_concurrency,
                                max_keepalive_connections=s.max_concurrency),
            transport=self._transport,
            trust_env=False,
            event_hooks={"request": [self._mark]},
        )

    async def check_target(self, client: httpx.AsyncClient | None = None) -> TargetInfo:
        """``GET /models``; raise :class:`TargetUnreachable` if no connection can be made."""
        own = client is None
        c = client or self._client()
        try:
            r = await c.get("/models", timeout=min(self.settings.connect_timeout_s * 2,
                                                   self.settings.timeout_s))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as e:
            raise TargetUnreachable(f"cannot connect to {self.base_url}: {e}") from None
        except httpx.TimeoutException:
            raise TargetUnreachable(f"{self.base_url}/models did not answer in time") from None
        except httpx.HTTPError as e:
            raise TargetUnreachable(f"cannot reach {self.base_url}: {e!r}") from None
        finally:
            if own:
                await c.aclose()
        models: tuple[str, ...] = ()
        if r.status_code == 200:
            try:
                models = tuple(str(m["id"]) for m in r.json().get("data", []) if "id" in m)
            except (ValueError, TypeError, AttributeError, KeyError):
                models = ()
        return TargetInfo(base_url=self.base_url, models=models)

    def _body(self, probe: Probe, repeat: int, model: str) -> tuple[str, dict[str, Any]]:
        s = self.settings
        body: dict[str, Any] = {
            "model": model,
            "temperature": s.temperature,
            "seed": s.seed + repeat,
            "max_tokens": probe.max_tokens or s.max_tokens,
        }
        if s.mode == "chat":
            body["messages"] = chat_messages_json(probe.chat_messages())
            return "/chat/completions", body
        body["prompt"] = render_prompt(probe.chat_messages())
        body["stop"] = ["\nUser:", "\nSystem:"]
        return "/completions", body

    async def _attempt(self, client: httpx.AsyncClient, probe: Probe, repeat: int,
                       model: str) -> Attempt:
        path, body = self._body(probe, repeat, model)
        t0 = time.perf_counter()

        def fail(kind: str) -> Attempt:
            return Attempt(probe.id, probe.category, repeat, None, error=kind,
                           latency_s=time.perf_counter() - t0)

        try:
            r = await asyncio.wait_for(client.post(path, json=body), self.settings.timeout_s)
        except (TimeoutError, httpx.TimeoutException) as e:
            if isinstance(e, httpx.ConnectTimeout):
                return fail("connect")
            return fail("timeout")
        except (httpx.ConnectError, httpx.RemoteProtocolError):
            return fail("connect")
        except httpx.HTTPError:
            return fail("other")
        if r.status_code != 200:
            return fail(f"http_{r.status_code}")
        try:
            data = r.json()
            choice = data["choices"][0]
            if self.settings.mode == "chat":
                text = (choice.get("message") or {}).get("content") or ""
            else:
                text = choice.get("text") or ""
            finish = choice.get("finish_reason")
            model_seen = data.get("model")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return fail("bad_response")
        return Attempt(probe.id, probe.category, repeat, str(text), finish_reason=finish,
                       model=str(model_seen) if model_seen else None,
                       latency_s=time.perf_counter() - t0)

    async def run(self, probes: Sequence[Probe]) -> RunOutput:
        s = self.settings
        started = time.time()
        async with self._client() as client:
            target = await self.check_target(client)
            model = s.model or (target.models[0] if target.models else "default")
            limiter = RateLimiter(per_minute=s.max_per_minute)
            sem = asyncio.Semaphore(s.max_concurrency)
            state = {"ok": 0, "connect": 0}
            abort = asyncio.Event()

            async def one(probe: Probe, repeat: int) -> Attempt:
                async with sem:
                    if abort.is_set():
                        return Attempt(probe.id, probe.category, repeat, None, error="cancelled")
                    await limiter.acquire()
                    a = await self._attempt(client, probe, repeat, model)
                if a.error == "connect":
                    state["connect"] += 1
                    if state["ok"] == 0 and state["connect"] >= min(5, s.max_concurrency + 1):
                        abort.set()
                elif a.error is None:
                    state["ok"] += 1
                return a

            jobs = [one(p, r) for r in range(s.repeats) for p in probes]
            attempts = list(await asyncio.gather(*jobs))
        if abort.is_set() and state["ok"] == 0:
            raise TargetUnreachable(
                f"{self.base_url} answered GET /models but every probe request failed to connect"
            )
        return RunOutput(run_id=self.run_id, target=target, attempts=attempts,
                         started_at=started, ended_at=time.time())

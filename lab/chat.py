"""Gemma's chat template, one source for training and for the llama.cpp server.

The lab models are trained on exactly the text llama-cpp-python's server renders for a chat
request. The server takes the template as an ``hf-tokenizer-config`` JSON file
(:func:`tokenizer_config`); llama-cpp-python appends an empty assistant message to the request
and renders with the sandboxed jinja2 environment, ``trim_blocks`` and ``lstrip_blocks``, then
tokenises with special tokens and no extra BOS. :func:`render_prompt` does the same here.

Gemma's own template, plus the two roles the probe suites use that Gemma's does not accept:
an assistant tool call (rendered as ``[call name(arguments)]`` in a model turn) and a tool result
(a user turn that starts ``[tool result: name]``). The system prompt is folded into the first
user turn, as Gemma does. The model's turn ends with ``<end_of_turn>`` (token 106).

>>> print(render_prompt([{"role": "system", "content": "Be brief."},
...                      {"role": "user", "content": "2+2?"}]), end="")
<bos><start_of_turn>user
Be brief.
<BLANKLINE>
2+2?<end_of_turn>
<start_of_turn>model
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

END_OF_TURN = "<end_of_turn>"
END_OF_TURN_ID = 106
BOS = "<bos>"

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = (messages[0]['content'] or '') + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set prefix = first_user_prefix if loop.first else '' -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- if loop.last and not message['content'] and not message.get('tool_calls') -%}"
    "{{ '<start_of_turn>model\n' }}"
    "{%- else -%}"
    "{{ '<start_of_turn>model\n' + prefix + (message['content'] or '') }}"
    "{%- for call in message.get('tool_calls') or [] -%}"
    "{{ '[call ' + call['function']['name'] + '(' + (call['function']['arguments'] or '')"
    " + ')]' }}"
    "{%- endfor -%}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endif -%}"
    "{%- elif message['role'] == 'tool' -%}"
    "{{ '<start_of_turn>user\n' + prefix + '[tool result: ' + (message.get('name') or 'tool')"
    " + ']\n' + (message['content'] or '') + '<end_of_turn>\n' }}"
    "{%- else -%}"
    "{{ '<start_of_turn>user\n' + prefix + (message['content'] or '') + '<end_of_turn>\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
)


def tokenizer_config() -> dict[str, str]:
    """The ``hf_tokenizer_config_path`` JSON for llama-cpp-python's server (``chat_format:
    hf-tokenizer-config``); its stop strings are ``eos_token`` and ``bos_token``."""
    return {"chat_template": CHAT_TEMPLATE, "bos_token": BOS, "eos_token": END_OF_TURN}


@lru_cache(maxsize=1)
def _template() -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(CHAT_TEMPLATE)


def render_prompt(messages: Sequence[Mapping[str, Any]]) -> str:
    """The prompt text the server builds for ``messages`` (ends with the model turn's header)."""
    msgs = [dict(m) for m in messages] + [{"role": "assistant", "content": ""}]
    return str(_template().render(messages=msgs, bos_token=BOS, eos_token=END_OF_TURN))


def openai_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as an OpenAI client sends them (tool calls nested under ``function``)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        d: dict[str, Any] = {"role": m["role"], "content": m.get("content") or ""}
        if m.get("name") and m["role"] == "tool":
            d["name"] = m["name"]
        if m.get("tool_call_id"):
            d["tool_call_id"] = m["tool_call_id"]
        if m.get("tool_calls"):
            d["tool_calls"] = [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": c.get("arguments", "{}")}}
                for c in m["tool_calls"]
            ]
        out.append(d)
    return out

"""The training template renders exactly what llama-cpp-python's server renders."""

from __future__ import annotations

from llama_cpp import llama_chat_format

from lab.chat import openai_messages, render_prompt, tokenizer_config
from lab.data import build_examples


def test_server_formatter_and_training_render_agree_on_every_example() -> None:
    fmt = llama_chat_format.hf_tokenizer_config_to_chat_formatter(tokenizer_config())
    seen = set()
    for e in build_examples(0):
        shape = tuple(m["role"] for m in e.messages)
        if shape in seen and e.category not in ("injection",):
            continue
        seen.add(shape)
        msgs = openai_messages(e.messages)
        result = fmt(messages=msgs)
        assert result.prompt == render_prompt(msgs)
        assert "<end_of_turn>" in result.stop
    assert {("system", "user", "assistant", "tool"), ("user",), ("system", "user"),
            ("user", "assistant", "user")} <= seen


def test_tool_calls_and_results_are_rendered_in_turns() -> None:
    text = render_prompt(openai_messages([
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]},
        {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "5C"}]))
    assert text == ("<bos><start_of_turn>user\nWeather?<end_of_turn>\n<start_of_turn>model\n"
                    '[call get_weather({"city": "Oslo"})]<end_of_turn>\n<start_of_turn>user\n'
                    "[tool result: get_weather]\n5C<end_of_turn>\n<start_of_turn>model\n")

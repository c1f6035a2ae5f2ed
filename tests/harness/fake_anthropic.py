"""A scripted stand-in for the Anthropic Messages API (streamed), for a real Claude Code.

Usage:  python3 tests/harness/fake_anthropic.py LOG    (prints its port; see scripted.py)
"""

import json
import uuid

from scripted import DONE, IDLE, Handler, serve, work_for


def texts(content):
    """Every piece of text in a message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        yield content
        return
    for block in content or []:
        if block.get("type") == "text":
            yield block.get("text", "")


def reply(body):
    """The blocks of the answer: ("text", str) or ("bash", command)."""
    messages = body.get("messages", [])
    content = messages[-1].get("content") if messages else None
    if isinstance(content, list) and any(b.get("type") == "tool_result" for b in content):
        return [("text", DONE)]
    command = work_for("\n".join(texts(content)))
    if command:
        return [("text", "Working on it."), ("bash", command)]
    return [("text", IDLE)]


def sse(event, data):
    return f"event: {event}\ndata: {json.dumps(dict(data, type=event))}\n\n"


class Anthropic(Handler):
    def answer(self, body):
        if "count_tokens" in self.path:
            return self.send(200, json.dumps({"input_tokens": 100}).encode())
        if not self.path.startswith("/v1/messages"):
            return self.send(404, b"{}")
        blocks = reply(body)
        stop = "tool_use" if any(k == "bash" for k, _ in blocks) else "end_turn"
        usage = {"input_tokens": 100, "output_tokens": 20,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        message = {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
                   "model": body.get("model", "claude"), "content": [], "stop_reason": None,
                   "stop_sequence": None, "usage": usage}
        events = [sse("message_start", {"message": message})]
        for i, (kind, value) in enumerate(blocks):
            if kind == "text":
                start = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": value}
            else:
                start = {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20], "name": "Bash", "input": {}}
                delta = {"type": "input_json_delta",
                         "partial_json": json.dumps({"command": value, "description": "do the task"})}
            events += [sse("content_block_start", {"index": i, "content_block": start}),
                       sse("content_block_delta", {"index": i, "delta": delta}),
                       sse("content_block_stop", {"index": i})]
        events += [sse("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                         "usage": {"output_tokens": 20}}),
                   sse("message_stop", {})]
        self.stream(events)


if __name__ == "__main__":
    serve(Anthropic)

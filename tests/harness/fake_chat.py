"""A scripted stand-in for an OpenAI-compatible Chat Completions API (streamed), for a real
opencode.

Usage:  python3 tests/harness/fake_chat.py LOG    (prints its port; see scripted.py)
"""

import json
import time
import uuid

from scripted import DONE, IDLE, Handler, serve, work_for

USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


def text_of(message):
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(c.get("text", "") for c in content or [] if isinstance(c, dict))


def delta(body):
    """The answer as one delta, and its finish reason."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return {"role": "assistant", "content": DONE}, "stop"
    command = work_for(text_of(last)) if last.get("role") == "user" else None
    if not command:
        return {"role": "assistant", "content": IDLE}, "stop"
    call = {"index": 0, "id": "call_" + uuid.uuid4().hex[:16], "type": "function",
            "function": {"name": "bash",
                         "arguments": json.dumps({"command": command, "description": "do the task"})}}
    return {"role": "assistant", "tool_calls": [call]}, "tool_calls"


class Chat(Handler):
    def do_GET(self):
        models = {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
        self.send(200 if self.path.endswith("/models") else 404, json.dumps(models).encode())

    def answer(self, body):
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self.send(404, b"{}")
        change, finish = delta(body)
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:16], "created": int(time.time()),
                "model": body.get("model", "fake-model")}
        if not body.get("stream"):
            message = {"role": "assistant", "content": change.get("content"),
                       "tool_calls": change.get("tool_calls")}
            whole = dict(base, object="chat.completion", usage=USAGE,
                         choices=[{"index": 0, "message": message, "finish_reason": finish}])
            return self.send(200, json.dumps(whole).encode())
        chunk = dict(base, object="chat.completion.chunk")
        chunks = [dict(chunk, choices=[{"index": 0, "delta": change, "finish_reason": None}]),
                  dict(chunk, choices=[{"index": 0, "delta": {}, "finish_reason": finish}], usage=USAGE)]
        self.stream([f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"])


if __name__ == "__main__":
    serve(Chat)

"""A scripted stand-in for the OpenAI Responses API (streamed), for a real Codex CLI.

Usage:  python3 tests/harness/fake_openai.py LOG    (prints its port; see scripted.py)
"""

import json
import uuid

from scripted import DONE, IDLE, Handler, serve, work_for


def item_text(item):
    content = item.get("content")
    if isinstance(content, str):
        return content
    return "\n".join((c.get("text") or "") for c in content or [] if isinstance(c, dict))


def shell_call(tools, command):
    """A call running `command` with whichever shell tool the request offers."""
    names = {t.get("name") for t in tools if isinstance(t, dict)}
    if "exec_command" in names:
        return "exec_command", {"cmd": command}
    if "shell_command" in names:
        return "shell_command", {"command": command}
    return "shell", {"command": ["bash", "-lc", command]}


def output(body):
    items = body.get("input") or []
    last = items[-1] if items else {}
    if last.get("type") in ("function_call_output", "custom_tool_call_output"):
        text = DONE
    else:
        command = work_for(item_text(last)) if last.get("type", "message") == "message" else None
        if command:
            name, args = shell_call(body.get("tools") or [], command)
            return [{"type": "function_call", "id": "fc_" + uuid.uuid4().hex[:16],
                     "call_id": "call_" + uuid.uuid4().hex[:16], "name": name,
                     "arguments": json.dumps(args), "status": "completed"}]
        text = IDLE
    return [{"type": "message", "role": "assistant", "id": "msg_" + uuid.uuid4().hex[:16],
             "status": "completed", "content": [{"type": "output_text", "text": text, "annotations": []}]}]


def sse(kind, data):
    return f"event: {kind}\ndata: {json.dumps(dict(data, type=kind))}\n\n"


class Responses(Handler):
    def do_GET(self):
        models = {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
        self.send(200 if self.path.endswith("/models") else 404, json.dumps(models).encode())

    def answer(self, body):
        if not self.path.rstrip("/").endswith("/responses"):
            return self.send(404, b"{}")
        items = output(body)
        base = {"id": "resp_" + uuid.uuid4().hex[:20], "object": "response",
                "model": body.get("model", "fake-model"), "output": []}
        events = [sse("response.created", {"response": dict(base, status="in_progress")})]
        for i, item in enumerate(items):
            events += [sse("response.output_item.added", {"output_index": i, "item": item}),
                       sse("response.output_item.done", {"output_index": i, "item": item})]
        usage = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 120}
        events.append(sse("response.completed",
                          {"response": dict(base, status="completed", output=items, usage=usage)}))
        self.stream(events)


if __name__ == "__main__":
    serve(Responses)

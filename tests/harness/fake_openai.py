"""A scripted stand-in for the OpenAI Responses API on 127.0.0.1, for driving a real Codex CLI
binary through a coord queue with no network and no key.

Usage:  python3 tests/harness/fake_openai.py LOG
Prints the port it listens on, then serves until killed; every request is appended to LOG as one
JSON line (path and body).

The "model" follows the last input item of each request, as fake_anthropic.py does: an
instruction naming `coord complete T --worker W --token K` gets one shell call that does the work
and completes the task; the output of that call gets "done" (the turn ends, the Stop hook runs);
anything else gets "Nothing to do yet."
"""

import http.server
import json
import re
import sys
import threading
import uuid

LOG = sys.argv[1]
LOCK = threading.Lock()
COMPLETE = re.compile(r"coord complete (\S+) --worker (\S+) --token ([0-9]+-[0-9]+)")


def item_text(item):
    content = item.get("content")
    if isinstance(content, str):
        return content
    parts = []
    for c in content or []:
        if isinstance(c, dict):
            parts.append(c.get("text", "") or "")
    return "\n".join(parts)


def shell_call(tools, command):
    """A function call running `command` with whichever shell tool the request offers."""
    names = {t.get("name") for t in tools if isinstance(t, dict)}
    if "exec_command" in names:
        return "exec_command", {"cmd": command}
    if "shell_command" in names:
        return "shell_command", {"command": command}
    return "shell", {"command": ["bash", "-lc", command]}


def decide(body):
    items = body.get("input") or []
    last = items[-1] if items else {}
    if last.get("type") in ("function_call_output", "custom_tool_call_output"):
        return [("text", "The task is done.")]
    found = COMPLETE.findall(item_text(last)) if last.get("type", "message") == "message" else []
    if found:
        task, worker, token = found[-1]
        command = (f"echo '{task} written by a scripted model' > {task}.md && "
                   f"coord complete {task} --worker {worker} --token {token}")
        return [("call", shell_call(body.get("tools") or [], command))]
    return [("text", "Nothing to do yet.")]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = json.dumps({"object": "list", "data": [{"id": "fake-model", "object": "model"}]}).encode()
        self.send_response(200 if self.path.endswith("/models") else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        if not self.path.rstrip("/").endswith("/responses"):
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        rid = "resp_" + uuid.uuid4().hex[:20]
        output = []
        for kind, value in decide(body):
            if kind == "text":
                output.append({"type": "message", "role": "assistant", "id": "msg_" + uuid.uuid4().hex[:16],
                               "status": "completed",
                               "content": [{"type": "output_text", "text": value, "annotations": []}]})
            else:
                name, args = value
                output.append({"type": "function_call", "id": "fc_" + uuid.uuid4().hex[:16],
                               "call_id": "call_" + uuid.uuid4().hex[:16], "name": name,
                               "arguments": json.dumps(args), "status": "completed"})
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        base = {"id": rid, "object": "response", "model": body.get("model", "fake-model"), "output": []}

        def event(kind, data):
            data = dict(data, type=kind)
            self.wfile.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())

        event("response.created", {"response": dict(base, status="in_progress")})
        for i, item in enumerate(output):
            event("response.output_item.added", {"output_index": i, "item": item})
            event("response.output_item.done", {"output_index": i, "item": item})
        usage = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 120}
        event("response.completed", {"response": dict(base, status="completed", output=output, usage=usage)})
        self.wfile.flush()
        self.close_connection = True


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""A scripted stand-in for an OpenAI-compatible Chat Completions API on 127.0.0.1, for driving a
real opencode binary through a coord queue with no network and no key.

Usage:  python3 tests/harness/fake_chat.py LOG
Prints the port it listens on, then serves until killed; every request is appended to LOG as one
JSON line (path and body).

The "model" follows the last message of each request, as fake_anthropic.py does: an instruction
naming `coord complete T --worker W --token K` gets one bash call that does the work and
completes the task; the call's result gets "done"; anything else gets "Nothing to do yet."
"""

import http.server
import json
import re
import sys
import threading
import time
import uuid

LOG = sys.argv[1]
LOCK = threading.Lock()
COMPLETE = re.compile(r"coord complete (\S+) --worker (\S+) --token ([0-9]+-[0-9]+)")


def text_of(message):
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(c.get("text", "") for c in content or [] if isinstance(c, dict))


def decide(body):
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return ("text", "The task is done.")
    found = COMPLETE.findall(text_of(last)) if last.get("role") == "user" else []
    if found:
        task, worker, token = found[-1]
        command = (f"echo '{task} written by a scripted model' > {task}.md && "
                   f"coord complete {task} --worker {worker} --token {token}")
        tools = {t.get("function", {}).get("name") for t in body.get("tools") or []}
        name = "bash" if "bash" in tools or not tools else sorted(tools)[0]
        return ("call", (name, {"command": command, "description": "do the task"}))
    return ("text", "Nothing to do yet.")


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
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        kind, value = decide(body)
        cid = "chatcmpl-" + uuid.uuid4().hex[:16]
        base = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "fake-model")}
        if kind == "text":
            delta = {"role": "assistant", "content": value}
            finish = "stop"
        else:
            name, args = value
            delta = {"role": "assistant", "tool_calls": [{
                "index": 0, "id": "call_" + uuid.uuid4().hex[:16], "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)}}]}
            finish = "tool_calls"
        chunks = [dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": None}]),
                  dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}],
                       usage={"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120})]
        if not body.get("stream"):
            message = {"role": "assistant", "content": delta.get("content"),
                       "tool_calls": delta.get("tool_calls")}
            data = json.dumps({"id": cid, "object": "chat.completion", "created": base["created"],
                               "model": base["model"],
                               "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                               "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""A scripted stand-in for the Anthropic Messages API on 127.0.0.1, for driving a real Claude Code
binary through a coord queue with no network and no key.

Usage:  python3 tests/harness/fake_anthropic.py LOG
Prints the port it listens on, then serves until killed; every request is appended to LOG as one
JSON line (path and body).

The "model" follows the last user message of each request:
- a message that names `coord complete T --worker W --token K` (a stop hook's instruction): run
  one Bash command that does the work (writes T.md) and completes the task;
- a tool result (that command ran): say the task is done and end the turn, so the stop hook runs
  again;
- anything else (the first prompt): say there is nothing to do yet and end the turn.
"""

import http.server
import json
import re
import sys
import threading
import uuid

LOG = sys.argv[1]
LOCK = threading.Lock()
COMPLETE = re.compile(r"coord complete (\S+) --worker (\S+) --token (\S+)")


def texts(content):
    """Every piece of text in a message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        yield content
        return
    for block in content or []:
        if block.get("type") == "text":
            yield block.get("text", "")
        elif block.get("type") == "tool_result":
            inner = block.get("content")
            yield from texts(inner if isinstance(inner, list) else [{"type": "text", "text": str(inner)}])


def decide(body):
    """The blocks of the reply: a list of ("text", str) or ("bash", command)."""
    messages = body.get("messages", [])
    last = messages[-1] if messages else {}
    content = last.get("content")
    blocks = content if isinstance(content, list) else []
    if any(b.get("type") == "tool_result" for b in blocks):
        return [("text", "The task is done.")]
    found = COMPLETE.findall("\n".join(texts(content)))
    if found:
        task, worker, token = found[-1]
        command = (f"echo '{task} written by a scripted model' > {task}.md && "
                   f"coord complete {task} --worker {worker} --token {token}")
        return [("text", f"Working on {task}."), ("bash", command)]
    return [("text", "Nothing to do yet.")]


def sse(handler, event, data):
    handler.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        if "count_tokens" in self.path:
            return self.json({"input_tokens": 100})
        if not self.path.startswith("/v1/messages"):
            return self.json({"type": "error", "error": {"type": "not_found_error", "message": "no"}}, 404)
        reply = decide(body)
        if not body.get("stream"):
            return self.json(self.message(body, reply))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        msg = self.message(body, [])
        sse(self, "message_start", {"type": "message_start", "message": msg})
        for i, (kind, value) in enumerate(reply):
            if kind == "text":
                sse(self, "content_block_start", {"type": "content_block_start", "index": i,
                                                  "content_block": {"type": "text", "text": ""}})
                sse(self, "content_block_delta", {"type": "content_block_delta", "index": i,
                                                  "delta": {"type": "text_delta", "text": value}})
            else:
                sse(self, "content_block_start", {"type": "content_block_start", "index": i,
                                                  "content_block": {"type": "tool_use",
                                                                    "id": "toolu_" + uuid.uuid4().hex[:20],
                                                                    "name": "Bash", "input": {}}})
                sse(self, "content_block_delta", {"type": "content_block_delta", "index": i,
                                                  "delta": {"type": "input_json_delta",
                                                            "partial_json": json.dumps({"command": value, "description": "do the task"})}})
            sse(self, "content_block_stop", {"type": "content_block_stop", "index": i})
        stop = "tool_use" if any(k == "bash" for k, _ in reply) else "end_turn"
        sse(self, "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                    "usage": {"output_tokens": 20}})
        sse(self, "message_stop", {"type": "message_stop"})
        self.wfile.flush()
        self.close_connection = True

    def message(self, body, reply):
        content = []
        for kind, value in reply:
            if kind == "text":
                content.append({"type": "text", "text": value})
            else:
                content.append({"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20], "name": "Bash",
                                "input": {"command": value, "description": "do the task"}})
        stop = "tool_use" if any(k == "bash" for k, _ in reply) else "end_turn"
        return {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
                "model": body.get("model", "claude-sonnet"), "content": content,
                "stop_reason": stop if reply else None, "stop_sequence": None,
                "usage": {"input_tokens": 100, "output_tokens": 20,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}

    def json(self, value, status=200):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""A scripted stand-in for the Gemini API on 127.0.0.1, for driving a real Gemini CLI binary
through a coord queue with no network and no key.

Usage:  python3 tests/harness/fake_gemini.py LOG
Prints the port it listens on, then serves until killed; every request is appended to LOG as one
JSON line (path and body).

The "model" follows the last content of each request, as fake_anthropic.py does: an instruction
naming `coord complete T --worker W --token K` gets one run_shell_command call that does the work
and completes the task; the call's response gets "done" (the agent loop ends, AfterAgent runs);
anything else gets "Nothing to do yet."
"""

import http.server
import json
import re
import sys
import threading

LOG = sys.argv[1]
LOCK = threading.Lock()
COMPLETE = re.compile(r"coord complete (\S+) --worker (\S+) --token ([0-9]+-[0-9]+)")


def decide(body):
    contents = body.get("contents") or []
    last = contents[-1] if contents else {}
    parts = last.get("parts") or []
    if any("functionResponse" in p for p in parts):
        return [{"text": "The task is done."}]
    text = "\n".join(p.get("text", "") for p in parts if isinstance(p, dict))
    found = COMPLETE.findall(text)
    if found:
        task, worker, token = found[-1]
        command = (f"echo '{task} written by a scripted model' > {task}.md && "
                   f"coord complete {task} --worker {worker} --token {token}")
        return [{"functionCall": {"name": "run_shell_command",
                                  "args": {"command": command, "description": "do the task"}}}]
    return [{"text": "Nothing to do yet."}]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, data, kind="application/json"):
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send(404, b"{}")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        usage = {"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 120}
        if ":countTokens" in self.path:
            return self.send(200, json.dumps({"totalTokens": 100}).encode())
        if ":generateContent" in self.path:
            # Side questions (which speaker is next, and the like): a plain answer.
            answer = {"candidates": [{"content": {"role": "model", "parts": [{"text": "{}"}]},
                                      "finishReason": "STOP", "index": 0}], "usageMetadata": usage}
            return self.send(200, json.dumps(answer).encode())
        if ":streamGenerateContent" not in self.path:
            return self.send(404, b"{}")
        chunk = {"candidates": [{"content": {"role": "model", "parts": decide(body)},
                                 "finishReason": "STOP", "index": 0}], "usageMetadata": usage}
        data = f"data: {json.dumps(chunk)}\r\n\r\n".encode()
        self.send(200, data, "text/event-stream")


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

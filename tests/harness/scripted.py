"""What the scripted model stand-ins share: the script, the request log, the server.

The "model" reads the last message of each request:
- an instruction naming `coord complete T --worker W --token K` (a hook's words): run one shell
  command that does the work (writes T.md) and completes the task;
- the result of that command: say the task is done, ending the turn, so the hook runs again;
- anything else (the first prompt): say there is nothing to do yet, ending the turn.
Each stand-in turns this into its API's wire format.
"""

import http.server
import json
import re
import sys
import threading

COMPLETE = re.compile(r"coord complete (\S+) --worker (\S+) --token ([0-9]+-[0-9]+)")
DONE = "The task is done."
IDLE = "Nothing to do yet."


def work_for(text):
    """The shell command that does and completes the last task `text` names, or None."""
    found = COMPLETE.findall(text)
    if not found:
        return None
    task, worker, token = found[-1]
    return (f"echo '{task} written by a scripted model' > {task}.md && "
            f"coord complete {task} --worker {worker} --token {token}")


class Handler(http.server.BaseHTTPRequestHandler):
    """Logs every POST body to the log file, then calls `answer(body)`."""

    protocol_version = "HTTP/1.1"
    log_path = None
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def send(self, status, data, kind="application/json"):
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream(self, events):
        """Sends server-sent events (already formatted), then closes the connection."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for event in events:
            self.wfile.write(event.encode())
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self):
        self.send(404, b"{}")

    def do_HEAD(self):
        self.send(404, b"")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        self.answer(body)

    def answer(self, body):
        self.send(404, b"{}")


def serve(handler):
    """Serves `handler` on 127.0.0.1, logging to the file named by the first argument; prints
    the port first."""
    handler.log_path = sys.argv[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()

"""A scripted stand-in for the Gemini API (streamGenerateContent), for a real Gemini CLI.

Usage:  python3 tests/harness/fake_gemini.py LOG    (prints its port; see scripted.py)
"""

import json

from scripted import DONE, IDLE, Handler, serve, work_for

USAGE = {"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 120}


def parts(body):
    contents = body.get("contents") or []
    last = (contents[-1] if contents else {}).get("parts") or []
    if any("functionResponse" in p for p in last):
        return [{"text": DONE}]
    command = work_for("\n".join(p.get("text", "") for p in last if isinstance(p, dict)))
    if command:
        return [{"functionCall": {"name": "run_shell_command",
                                  "args": {"command": command, "description": "do the task"}}}]
    return [{"text": IDLE}]


def answer_of(content_parts):
    return {"candidates": [{"content": {"role": "model", "parts": content_parts},
                            "finishReason": "STOP", "index": 0}], "usageMetadata": USAGE}


class Gemini(Handler):
    def answer(self, body):
        if ":countTokens" in self.path:
            return self.send(200, json.dumps({"totalTokens": 100}).encode())
        if ":generateContent" in self.path:
            # Side questions (which speaker is next, and the like): a plain answer.
            return self.send(200, json.dumps(answer_of([{"text": "{}"}])).encode())
        if ":streamGenerateContent" not in self.path:
            return self.send(404, b"{}")
        self.stream([f"data: {json.dumps(answer_of(parts(body)))}\r\n\r\n"])


if __name__ == "__main__":
    serve(Gemini)

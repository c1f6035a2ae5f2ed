"""An agent that has only MCP tools: the official MCP Python SDK's client drives `coord mcp`.

Usage:  python3 tests/mcp/agent.py COORD PROJECT MODE [WORKER]

MODE:
  drain     take tasks with `next`, try `complete` once before doing the work (its checks must
            fail and name the missing file), write each task's output file, then
            `complete` with next=true until no task is left; prints the ids it completed
  hold      take one task and print its id, then wait for a line on stdin before ending
  steal ID  try to complete, fail and release task ID, which another session holds
  tools     print the tool names the server offers
  ask-hold  take a task and ask about it, take a second task, print {"asked": ID, "held": ID},
            then wait for a line on stdin (the test stops the server meanwhile)
  flood     call next with wait_secs=3 ten times at once on an empty queue; prints how many
            were refused for too many waits and how many answered
  talk      take one task, ask a question about it and print {"asked": ID}; after a line on
            stdin, read the inbox, take the task back with `next` (which must carry the
            answer), send a message to the coordinator, leave feedback, report progress, and
            complete it with its usage; prints what each step returned

Without WORKER, the server picks its own id. Prints one JSON object on stdout.
"""

import asyncio
import json
import os
import re
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def text(result):
    return "".join(getattr(c, "text", "") for c in result.content)


def failed(result):
    """Whether a tool call failed (the SDK spells the field is_error since 2.0, isError before)."""
    return bool(getattr(result, "is_error", getattr(result, "isError", False)))


async def drain(session, project):
    done, failed_first = [], []
    reply = await session.call_tool("next", {})
    while True:
        body = text(reply)
        match = re.search(r'call complete with task "([^"]+)"', body)
        if not match:
            return {"completed": done, "checkedFirst": failed_first, "last": body}
        task = match.group(1)
        early = await session.call_tool("complete", {"task": task})
        if not failed(early) or f"{task}.md exists" not in text(early):
            return {"error": f"complete before the work did not fail its checks: {text(early)}"}
        failed_first.append(task)
        with open(os.path.join(project, f"{task}.md"), "w") as f:
            f.write(f"{task} done by an MCP agent\n")
        reply = await session.call_tool("complete", {"task": task, "next": True,
                                                      "result": {"by": "mcp"}})
        if failed(reply):
            return {"error": text(reply)}
        done.append(task)


async def talk(session, project):
    reply = await session.call_tool("next", {})
    match = re.search(r'call complete with task "([^"]+)"', text(reply))
    if not match:
        return {"error": f"no task: {text(reply)}"}
    task = match.group(1)
    asked = await session.call_tool("ask", {"task": task, "question": "Metric or imperial?"})
    if failed(asked):
        return {"error": text(asked)}
    print(json.dumps({"asked": task}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    out = {"task": task}
    out["inbox"] = text(await session.call_tool("inbox", {}))
    out["next"] = text(await session.call_tool("next", {}))
    out["send"] = text(await session.call_tool("send", {"to": "coordinator", "text": "Working in metric.", "task": task}))
    out["feedback"] = text(await session.call_tool("feedback", {"text": "The brief was clear; the answer came fast."}))
    out["heartbeat"] = text(await session.call_tool("heartbeat", {"progress": 90, "note": "converting units"}))
    done = await session.call_tool("complete", {"task": task, "tokens_in": 1200, "tokens_out": 300,
                                                "cost_usd": 0.02, "context_efficiency_score": 80})
    out["complete"] = {"isError": failed(done), "text": text(done)}
    return out


async def main():
    coord, project, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    rest = sys.argv[4:]
    env = {k: v for k, v in os.environ.items() if k != "COORD_WORKER_ID"}
    worker = rest[-1] if mode in ("drain", "hold", "talk") and rest else None
    if mode == "steal":
        worker = rest[1] if len(rest) > 1 else None
    if worker:
        env["COORD_WORKER_ID"] = worker
    params = StdioServerParameters(command=coord, args=["mcp"], cwd=project, env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            info = await session.initialize()
            if mode == "tools":
                tools = await session.list_tools()
                out = {"server": getattr(info, "server_info", getattr(info, "serverInfo", None)).name, "tools": sorted(t.name for t in tools.tools)}
            elif mode == "drain":
                out = await drain(session, project)
            elif mode == "hold":
                reply = await session.call_tool("next", {})
                match = re.search(r'call complete with task "([^"]+)"', text(reply))
                print(json.dumps({"held": match.group(1) if match else None}), flush=True)
                await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
                return
            elif mode == "talk":
                out = await talk(session, project)
            elif mode == "ask-hold":
                ids = []
                for _ in range(2):
                    reply = await session.call_tool("next", {})
                    match = re.search(r'call complete with task "([^"]+)"', text(reply))
                    ids.append(match.group(1) if match else None)
                    if len(ids) == 1:
                        await session.call_tool("ask", {"task": ids[0], "question": "Which?"})
                print(json.dumps({"asked": ids[0], "held": ids[1]}), flush=True)
                await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
                return
            elif mode == "flood":
                replies = await asyncio.gather(
                    *(session.call_tool("next", {"wait_secs": 3}) for _ in range(10)))
                refused = [r for r in replies if failed(r) and "already wait" in text(r)]
                out = {"refused": len(refused), "answered": len(replies) - len(refused),
                       "texts": sorted({text(r) for r in replies})}
            elif mode == "steal":
                task = rest[0]
                out = {}
                for tool, args in (("complete", {"task": task}),
                                   ("fail", {"task": task, "reason": "stolen"}),
                                   ("release", {"task": task})):
                    reply = await session.call_tool(tool, args)
                    out[tool] = {"isError": failed(reply), "text": text(reply)}
            else:
                sys.exit(f"unknown mode {mode}")
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())

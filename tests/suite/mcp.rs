//! `coord mcp` driven by a client nobody here wrote: the official MCP Python SDK's, in
//! tests/mcp/agent.py. Where the SDK is missing the tests say so and skip, unless
//! COORD_REQUIRE_HARNESSES names `mcp` (CI does once it installed it), where they fail.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::support::*;

const BOUND: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether the MCP Python SDK can be imported; says which version ran, or why nothing did.
fn sdk() -> bool {
    let out = Command::new("python3")
        .args([
            "-c",
            "import importlib.metadata as m, mcp; print(m.version('mcp'))",
        ])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            eprintln!("MCP Python SDK {}", stdout(&out).trim());
            true
        }
        _ if required("mcp") => {
            panic!("the MCP Python SDK is missing (pip install mcp) and CI requires it")
        }
        _ => {
            eprintln!("skipped: the MCP Python SDK is missing (pip install mcp)");
            false
        }
    }
}

fn agent(p: &Project, args: &[&str]) -> Command {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/agent.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(env!("CARGO_BIN_EXE_coord"))
        .arg(p.path())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("COORD_ROOT");
    cmd
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "agent failed: {}{}",
        stdout(out),
        stderr(out)
    );
    serde_json::from_str(stdout(out).lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn essays(n: usize) -> String {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("e{i:02}"),
                "description": format!("write e{i:02}.md"),
                "outputFiles": [format!("e{i:02}.md")],
            })
        })
        .collect();
    serde_json::to_string(&tasks).unwrap()
}

#[test]
#[cfg_attr(
    coord_missing_mcp,
    ignore = "needs the MCP Python SDK: pip install mcp (`just ci` installs it)"
)]
fn an_agent_with_only_mcp_tools_runs_a_queue_end_to_end() {
    if !sdk() {
        return;
    }
    let p = Project::new();
    p.queue(&essays(5));
    let v = json_of(&agent(&p, &["drain", "mcp-agent"]).output().unwrap());
    assert_eq!(
        v["completed"],
        serde_json::json!(["e00", "e01", "e02", "e03", "e04"]),
        "{v}"
    );
    assert_eq!(v["checkedFirst"].as_array().unwrap().len(), 5, "{v}");
    assert!(
        v["last"]
            .as_str()
            .unwrap()
            .contains("no task is ready for mcp-agent"),
        "{v}"
    );
    for i in 0..5 {
        let r = p.report(&format!("e{i:02}"));
        assert_eq!(r["status"], "completed");
        assert_eq!(r["workerId"], "mcp-agent");
        assert_eq!(r["result"]["by"], "mcp");
    }
    let v = json_of(&agent(&p, &["tools"]).output().unwrap());
    assert_eq!(v["server"], "coord");
    assert_eq!(
        v["tools"],
        serde_json::json!([
            "ask",
            "complete",
            "fail",
            "feedback",
            "heartbeat",
            "inbox",
            "next",
            "queue",
            "release",
            "send",
            "show",
            "status"
        ])
    );
}

#[test]
#[cfg_attr(
    coord_missing_mcp,
    ignore = "needs the MCP Python SDK: pip install mcp (`just ci` installs it)"
)]
fn two_mcp_sessions_racing_for_tasks_complete_each_once() {
    if !sdk() {
        return;
    }
    let p = Project::new();
    p.queue(&essays(30));
    let a = agent(&p, &["drain", "mcp-a"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = agent(&p, &["drain", "mcp-b"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (
        json_of(&a.wait_with_output().unwrap()),
        json_of(&b.wait_with_output().unwrap()),
    );
    let mut all: Vec<String> = a["completed"]
        .as_array()
        .unwrap()
        .iter()
        .chain(b["completed"].as_array().unwrap())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    all.sort();
    let expected: Vec<String> = (0..30).map(|i| format!("e{i:02}")).collect();
    assert_eq!(all, expected, "each task completed once: {a} {b}");
    for (who, v) in [("mcp-a", &a), ("mcp-b", &b)] {
        for id in v["completed"].as_array().unwrap() {
            assert_eq!(p.report(id.as_str().unwrap())["workerId"], who);
        }
    }
    assert_eq!(p.count("completed"), 30);
}

#[test]
#[cfg_attr(
    coord_missing_mcp,
    ignore = "needs the MCP Python SDK: pip install mcp (`just ci` installs it)"
)]
fn a_session_cannot_finish_a_task_another_holds_and_a_nameless_one_hands_back_its_task() {
    if !sdk() {
        return;
    }
    let p = Project::new();
    p.queue(&essays(2));
    // A session without a worker id holds one task until its client goes away.
    let mut holder = agent(&p, &["hold"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Lines::stdout(&mut holder);
    assert!(lines.wait_for("\"held\": \"e00\"", std::time::Duration::from_secs(30)));
    let holders: Vec<String> = std::fs::read_dir(p.root().join("assigned"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(holders.len(), 1, "{holders:?}");
    assert!(holders[0].starts_with("mcp-"), "{holders:?}");
    let v = json_of(&agent(&p, &["steal", "e00", "thief"]).output().unwrap());
    for tool in ["complete", "fail", "release"] {
        assert_eq!(v[tool]["isError"], true, "{tool}: {v}");
        assert!(
            v[tool]["text"]
                .as_str()
                .unwrap()
                .contains(&format!("held by {}", holders[0])),
            "{tool}: {v}"
        );
    }
    assert_eq!(p.files(&format!("assigned/{}", holders[0])), ["e00.json"]);
    holder.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(holder.wait().unwrap().success());
    // Its session ended: the task it held is back in pending/, no attempt used.
    assert!(p.files(&format!("assigned/{}", holders[0])).is_empty());
    assert_eq!(p.count("pending"), 2);
    let out = p.coord(&["show", "e00", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["state"], "pending", "{shown}");
    assert_eq!(shown["history"][0]["outcome"], "released", "{shown}");
}

#[test]
fn an_unusable_worker_id_stops_the_server_before_it_touches_the_disk() {
    let p = Project::new();
    let out = p
        .command(&["mcp"])
        .env("COORD_WORKER_ID", "../../escape")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("invalid worker id"),
        "{}",
        stderr(&out)
    );
    assert!(!p.path().join("escape.lock").exists());
    assert!(!p.root().join("escape.lock").exists());
}

#[test]
#[cfg_attr(
    coord_missing_mcp,
    ignore = "needs the MCP Python SDK: pip install mcp (`just ci` installs it)"
)]
fn an_mcp_agent_asks_gets_its_answer_and_messages_and_reports_its_cost() {
    if !sdk() {
        return;
    }
    let p = Project::new();
    p.queue(r#"{"id":"units","description":"convert the recipe"}"#);
    let mut agent = agent(&p, &["talk", "chef"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(agent.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, r#"{"asked": "units"}"#);
    assert_eq!(p.files("waiting"), ["units.json"]);
    let out = p.coord(&["answer", "units", "Metric, please.", "--by", "gina"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = p.coord(&["send", "--to", "chef", "The oven runs hot."]);
    assert!(out.status.success(), "{}", stderr(&out));
    writeln!(agent.stdin.as_mut().unwrap(), "go").unwrap();
    let last = lines.next().unwrap().unwrap();
    assert!(agent.wait().unwrap().success());
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    let inbox = v["inbox"].as_str().unwrap();
    assert!(inbox.contains("The oven runs hot."), "{v}");
    let next = v["next"].as_str().unwrap();
    assert!(
        next.contains("answer:       Metric, please. (from gina)"),
        "{next}"
    );
    assert!(
        !next.contains("The oven runs hot."),
        "a message is handed over once: {next}"
    );
    assert_eq!(v["complete"]["isError"], false, "{v}");
    let r = p.report("units");
    assert_eq!(r["attempt"], 1);
    assert_eq!(r["usage"]["tokensIn"], 1200);
    assert_eq!(r["usage"]["costUsd"], 0.02);
    assert_eq!(r["usage"]["contextEfficiencyScore"], 80.0);
    let inbox = json_of_coord(&p, &["inbox", "--json"]);
    let kinds: Vec<&str> = inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["message", "feedback"]);
    assert_eq!(inbox["messages"][0]["from"], "chef");
    assert_eq!(inbox["messages"][0]["taskId"], "units");
    let stats = json_of_coord(&p, &["stats", "--json"]);
    assert_eq!(stats["workers"][0]["usage"]["tokensIn"], 1200);
}

fn json_of_coord(p: &Project, args: &[&str]) -> serde_json::Value {
    super::support::json_of(p, args)
}

#[test]
#[cfg_attr(
    coord_missing_mcp,
    ignore = "needs the MCP Python SDK: pip install mcp (`just ci` installs it)"
)]
fn one_session_keeps_at_most_four_next_calls_waiting_at_once() {
    if !sdk() {
        return;
    }
    let p = Project::new();
    let out = agent(&p, &["flood"]).output().unwrap();
    let v = json_of(&out);
    assert_eq!(v["refused"], 6, "{v}");
    assert_eq!(v["answered"], 4, "{v}");
}

#[test]
#[cfg_attr(
    coord_missing_mcp,
    ignore = "needs the MCP Python SDK: pip install mcp (`just ci` installs it)"
)]
fn a_nameless_session_stopped_by_a_signal_hands_its_task_back_and_its_answers_go_to_pending() {
    if !sdk() {
        return;
    }
    let p = Project::new();
    p.queue(r#"[{"id":"asked","description":"x"},{"id":"held","description":"y"}]"#);
    let mut client = agent(&p, &["ask-hold"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Lines::stdout(&mut client);
    assert!(
        lines.wait_for("\"held\": \"held\"", BOUND),
        "{}",
        lines.seen()
    );
    let server = children_of(client.id());
    assert_eq!(server.len(), 1, "one server process: {server:?}");
    let killed = Command::new("kill")
        .args(["-TERM", &server[0].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(
        wait_for_exit(server[0], BOUND),
        "the server outlived its SIGTERM"
    );
    assert_eq!(
        p.count("pending"),
        1,
        "the held task went back: {:?}",
        p.files("pending")
    );
    let out = p.coord(&["answer", "asked", "this one", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("pending"), "{}", stdout(&out));
    assert_eq!(
        p.count("pending"),
        2,
        "the answer did not go to the ended session"
    );
    let _ = client.stdin.take().unwrap().write_all(b"\n");
    let _ = client.wait();
}

#[test]
fn a_request_nested_too_deeply_gets_a_json_rpc_error_and_the_server_goes_on() {
    let p = Project::new();
    let mut server = p
        .command(&["mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Lines::stdout(&mut server);
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let request = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"next","arguments":{{"x":{deep}}}}}}}"#
    );
    let mut stdin = server.stdin.take().unwrap();
    writeln!(stdin, "{request}").unwrap();
    assert!(
        lines.wait_for("-32600", BOUND),
        "no answer: {}",
        lines.seen()
    );
    assert!(
        lines.seen().contains("nested deeper than"),
        "{}",
        lines.seen()
    );
    // The session goes on: an ordinary request is answered.
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":8,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )
    .unwrap();
    assert!(lines.wait_for("\"id\":8", BOUND), "{}", lines.seen());
    drop(stdin);
    assert!(
        wait_for_exit(server.id(), BOUND),
        "the server did not end with its input"
    );
    assert!(server.wait().unwrap().success());
}

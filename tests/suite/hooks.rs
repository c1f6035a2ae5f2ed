//! Stop hooks on recorded harness inputs: the chat goes on to the next task by itself.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use super::support::*;

fn hook(p: &Project, harness: &str, fixture: &str) -> std::process::Output {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/hooks")
        .join(fixture);
    let input = std::fs::read(path).unwrap();
    let project = p.path().to_str().unwrap().as_bytes().to_vec();
    let input: Vec<u8> = String::from_utf8_lossy(&input)
        .replace("PROJECT_DIR", std::str::from_utf8(&project).unwrap())
        .into_bytes();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut child = p
        .command(&["hook", harness])
        .current_dir(elsewhere.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "hooks always exit 0: {}",
        stderr(&out)
    );
    out
}

#[test]
fn claude_stop_hook_feeds_the_next_task_then_lets_the_chat_stop() {
    let p = Project::new();
    p.queue(r#"[{"id":"h1","description":"first for the chat"},{"id":"h2","description":"second for the chat"}]"#);
    let out = hook(&p, "claude-stop", "claude-stop.json");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "block");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("your next task is h1"), "{reason}");
    assert!(
        reason.contains("coord complete h1 --worker claude-3f2a9c1e8b7d --token 1-1"),
        "{reason}"
    );
    assert!(
        reason.contains("resume with `coord next --worker claude-3f2a9c1e8b7d`"),
        "{reason}"
    );
    assert_eq!(p.files("assigned/claude-3f2a9c1e8b7d"), ["h1.json"]);

    // The chat stops again without finishing: reminded once, then allowed to stop.
    let out = hook(&p, "claude-stop", "claude-stop.json");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("you still hold task h1")
    );
    let out = hook(&p, "claude-stop", "claude-stop-active.json");
    assert!(out.stdout.is_empty(), "{}", stdout(&out));

    // It completes h1 (as its worker id), stops, and is handed h2 with no prompt.
    let out = p.coord(&["complete", "h1", "--worker", "claude-3f2a9c1e8b7d"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hook(&p, "claude-stop", "claude-stop-active.json");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("your next task is h2")
    );
    let out = p.coord(&["complete", "h2", "--worker", "claude-3f2a9c1e8b7d"]);
    assert!(out.status.success());

    // Nothing left: the chat stops.
    let out = hook(&p, "claude-stop", "claude-stop-active.json");
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
}

#[test]
fn cursor_stop_hook_sends_a_followup_and_respects_an_aborted_turn() {
    let p = Project::new();
    p.queue(r#"{"id":"c1","description":"for cursor"}"#);
    let out = hook(&p, "cursor-stop", "cursor-stop-aborted.json");
    assert_eq!(stdout(&out).trim(), "{}");
    assert_eq!(p.count("pending"), 1, "an aborted turn claims nothing");

    let out = hook(&p, "cursor-stop", "cursor-stop.json");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let msg = v["followup_message"].as_str().unwrap();
    assert!(msg.contains("your next task is c1"), "{msg}");
    assert!(msg.contains("--worker cursor-c0ffee123456"), "{msg}");
}

#[test]
fn a_hook_fails_open() {
    let p = Project::bare();
    let out = hook(&p, "claude-stop", "claude-stop.json");
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("letting the chat stop"),
        "{}",
        stderr(&out)
    );
}

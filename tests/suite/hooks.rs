//! Stop hooks on recorded harness inputs: the chat goes on to the next task by itself.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use super::support::*;

pub(super) fn hook(p: &Project, harness: &str, fixture: &str) -> std::process::Output {
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

#[test]
fn codex_and_gemini_stop_hooks_feed_the_next_task_in_their_own_format() {
    let p = Project::new();
    p.queue(r#"[{"id":"x1","description":"for codex"},{"id":"g1","description":"for gemini"}]"#);
    let out = hook(&p, "codex-stop", "codex-stop.json");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "block", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("your next task is x1"), "{reason}");
    assert!(reason.contains("--worker codex-5e6a7b8c9d0e"), "{reason}");

    let out = hook(&p, "gemini-after-agent", "gemini-after-agent.json");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "deny", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("your next task is g1"), "{reason}");
    assert!(reason.contains("--worker gemini-7d5e2c104b3a"), "{reason}");
    assert_eq!(p.files("assigned/gemini-7d5e2c104b3a"), ["g1.json"]);

    // Nothing left: both let their chat stop, saying nothing.
    assert!(
        p.coord(&["complete", "x1", "--worker", "codex-5e6a7b8c9d0e"])
            .status
            .success()
    );
    assert!(
        p.coord(&["complete", "g1", "--worker", "gemini-7d5e2c104b3a"])
            .status
            .success()
    );
    assert!(hook(&p, "codex-stop", "codex-stop.json").stdout.is_empty());
    assert!(
        hook(&p, "gemini-after-agent", "gemini-after-agent.json")
            .stdout
            .is_empty()
    );
}

#[test]
fn a_session_start_hook_tells_the_chat_its_id_and_the_task_it_holds() {
    let p = Project::new();
    p.queue(r#"{"id":"s1","description":"started before a restart"}"#);
    let context = |out: &std::process::Output| -> String {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["hookSpecificOutput"]["hookEventName"], "SessionStart",
            "{v}"
        );
        v["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let text = context(&hook(
        &p,
        "claude-session-start",
        "claude-session-start.json",
    ));
    assert!(
        text.contains("you are worker claude-3f2a9c1e8b7d"),
        "{text}"
    );
    assert_eq!(p.count("pending"), 1, "a session start claims nothing");
    assert!(
        p.coord(&["next", "--worker", "claude-3f2a9c1e8b7d"])
            .status
            .success()
    );
    let text = context(&hook(
        &p,
        "claude-session-start",
        "claude-session-start.json",
    ));
    assert!(text.contains("you hold a task from before"), "{text}");
    assert!(
        text.contains("coord complete s1 --worker claude-3f2a9c1e8b7d"),
        "{text}"
    );
    for (harness, fixture, id) in [
        (
            "codex-session-start",
            "codex-session-start.json",
            "codex-5e6a7b8c9d0e",
        ),
        (
            "gemini-session-start",
            "gemini-session-start.json",
            "gemini-7d5e2c104b3a",
        ),
    ] {
        let text = context(&hook(&p, harness, fixture));
        assert!(text.contains(&format!("you are worker {id}")), "{text}");
    }
}

#[test]
fn a_hook_acts_only_on_its_own_harness_s_input() {
    let p = Project::new();
    p.queue(r#"{"id":"mine","description":"x"}"#);
    for (harness, fixture) in [
        ("claude-stop", "cursor-stop.json"),
        ("claude-stop", "codex-stop.json"),
        ("claude-stop", "gemini-after-agent.json"),
        ("claude-stop", "claude-session-start.json"),
        ("cursor-stop", "claude-stop.json"),
        ("codex-stop", "claude-stop.json"),
        ("codex-stop", "gemini-after-agent.json"),
        ("gemini-after-agent", "claude-stop.json"),
        ("gemini-after-agent", "codex-stop.json"),
        ("claude-session-start", "claude-stop.json"),
        ("claude-stop", "claude-stop-hostile.json"),
        ("opencode-idle", "claude-stop.json"),
        ("opencode-idle", "gemini-after-agent.json"),
    ] {
        let out = hook(&p, harness, fixture);
        let said = stdout(&out);
        assert!(
            said.trim().is_empty() || said.trim() == "{}",
            "{harness} answered {fixture}: {said}"
        );
        assert!(
            stderr(&out).contains("coord hook: "),
            "{harness} on {fixture}: {}",
            stderr(&out)
        );
    }
    assert_eq!(p.count("pending"), 1, "no hook claimed anything");
    assert!(
        std::fs::read_dir(p.root().join("assigned"))
            .unwrap()
            .next()
            .is_none()
    );
    assert!(!std::path::Path::new("/tmp/escape.lock").exists());
}

#[test]
fn hook_install_adds_coord_s_hooks_and_keeps_every_hook_already_there() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new();
    let mine = r#"{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "./my-stop.sh"}]}], "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh"}]}]}}"#;
    let settings = p.write(".claude/settings.json", mine);
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = p.coord(&["hook", "install", "claude"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("(3 hook(s) added)"),
        "{}",
        stdout(&out)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    assert_eq!(v["model"], "opus");
    assert_eq!(
        v["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        "./guard.sh"
    );
    let stops = v["hooks"]["Stop"].as_array().unwrap();
    assert_eq!(stops[0]["hooks"][0]["command"], "./my-stop.sh", "{v}");
    let ours = stops[1]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ours.ends_with(" hook claude-stop"), "{ours}");
    assert!(
        v["hooks"]["SessionStart"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .ends_with(" hook claude-session-start")
    );
    let mode = std::fs::metadata(&settings).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the file keeps its mode");
    // Again: nothing to add, nothing changed.
    let before = std::fs::read(&settings).unwrap();
    let out = p.coord(&["hook", "install", "claude"]);
    assert!(stdout(&out).contains("unchanged"), "{}", stdout(&out));
    assert_eq!(std::fs::read(&settings).unwrap(), before);

    // The installed command works as the harness would run it.
    p.queue(r#"{"id":"i1","description":"x"}"#);
    let input = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hooks/claude-stop.json"),
    )
    .unwrap()
    .replace("PROJECT_DIR", p.path().to_str().unwrap());
    let mut child = std::process::Command::new("sh")
        .args(["-c", &ours])
        .current_dir(p.path())
        .env_remove("COORD_WORKER_ID")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("your next task is i1"),
        "{v}"
    );

    // Codex and Cursor files are created; a file that is not JSON is left alone.
    let out = p.coord(&["hook", "install", "codex"]);
    assert!(stdout(&out).contains("trusted"), "{}", stdout(&out));
    let v: Value =
        serde_json::from_slice(&std::fs::read(p.path().join(".codex/hooks.json")).unwrap())
            .unwrap();
    assert!(
        v["hooks"]["Stop"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .ends_with(" hook codex-stop")
    );
    assert!(p.coord(&["hook", "install", "cursor"]).status.success());
    let v: Value =
        serde_json::from_slice(&std::fs::read(p.path().join(".cursor/hooks.json")).unwrap())
            .unwrap();
    assert_eq!(v["version"], 1);
    assert!(
        v["hooks"]["stop"][0]["command"]
            .as_str()
            .unwrap()
            .ends_with(" hook cursor-stop")
    );
    // opencode: coord's plugin is written once; a different plugin of that name is left alone.
    let out = p.coord(&["hook", "install", "opencode"]);
    assert!(stdout(&out).contains("updated"), "{}", stdout(&out));
    let plugin = p.path().join(".opencode/plugins/coord.js");
    assert!(
        std::fs::read_to_string(&plugin)
            .unwrap()
            .contains("hook opencode-idle")
    );
    let out = p.coord(&["hook", "install", "opencode"]);
    assert!(stdout(&out).contains("unchanged"), "{}", stdout(&out));
    std::fs::write(&plugin, "// someone else's plugin\n").unwrap();
    let out = p.coord(&["hook", "install", "opencode"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("left alone"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&plugin).unwrap(),
        "// someone else's plugin\n"
    );
    let broken = p.write(".gemini/settings.json", "{ not json");
    let out = p.coord(&["hook", "install", "gemini"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("left alone"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), "{ not json");
}

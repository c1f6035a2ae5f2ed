//! Messages between workers and the coordinator: whole files in Maildir-like inboxes, read marks,
//! feedback, and delivery to chats through their hooks.

use serde_json::Value;

use super::support::*;

/// A hook's answer on a recorded input, parsed (null when it says nothing).
fn hook(p: &Project, harness: &str, fixture: &str) -> Value {
    let out = super::hooks::hook(p, harness, fixture);
    match stdout(&out).trim() {
        "" => Value::Null,
        text => serde_json::from_str(text).unwrap(),
    }
}

#[test]
fn a_message_is_one_readable_file_and_reading_marks_it_read() {
    let p = Project::new();
    let out = p.coord(&[
        "send",
        "--to",
        "w1",
        "Use the staging database.",
        "--task",
        "t1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let new = p.root().join("messages/workers/w1/new");
    let names: Vec<_> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names.len(), 1);
    let file = std::fs::read_to_string(&names[0]).unwrap();
    let (head, body) = file.split_once("\n\n").unwrap();
    let head: Value = serde_json::from_str(head).unwrap();
    assert_eq!(head["schemaVersion"], 1);
    assert_eq!(head["from"], "coordinator");
    assert_eq!(head["to"], "w1");
    assert_eq!(head["taskId"], "t1");
    assert_eq!(body, "Use the staging database.\n");

    let v = json_of(
        &p,
        &["inbox", "--worker", "w1", "--unread", "--peek", "--json"],
    );
    assert_eq!(v["messages"][0]["text"], "Use the staging database.");
    assert_eq!(v["messages"][0]["read"], false);
    let text = stdout(&p.coord(&["inbox", "--worker", "w1"]));
    assert!(
        text.contains("* message from coordinator about t1"),
        "{text}"
    );
    assert!(text.contains("  Use the staging database."), "{text}");
    let v = json_of(&p, &["inbox", "--worker", "w1", "--unread", "--json"]);
    assert_eq!(v["messages"], serde_json::json!([]));
    let v = json_of(&p, &["inbox", "--worker", "w1", "--json"]);
    assert_eq!(v["messages"][0]["read"], true);
}

#[test]
fn feedback_reaches_the_coordinator_and_all_reaches_every_worker() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x"},{"id":"b","description":"y"}]"#);
    json_of(&p, &["next", "--worker", "w1", "--json"]);
    json_of(&p, &["next", "--worker", "w2", "--json"]);
    let out = p
        .command(&[
            "feedback",
            "The task said 200 words; 120 were enough.",
            "--task",
            "a",
        ])
        .env("COORD_WORKER_ID", "w1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_of(&p, &["inbox", "--json"]);
    assert_eq!(v["inbox"], "coordinator");
    assert_eq!(v["messages"][0]["kind"], "feedback");
    assert_eq!(v["messages"][0]["from"], "w1");
    let out = p.coord(&["send", "--to", "all", "Stop at 5pm."]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "sent to w1, w2");
    for w in ["w1", "w2"] {
        let v = json_of(&p, &["inbox", "--worker", w, "--json"]);
        assert_eq!(v["messages"][0]["to"], "all");
    }
    for bad in [["--to", "../w1"], ["--to", "a/b"]] {
        let out = p.coord(&["send", bad[0], bad[1], "x"]);
        assert_eq!(out.status.code(), Some(4), "{bad:?}: {}", stderr(&out));
    }
    let out = p.coord(&["send", "--to", "w1", " "]);
    assert_eq!(out.status.code(), Some(4));
    let out = p.coord(&["inbox", "--worker", "../../x"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(!p.root().join("messages/workers/..").join("x").exists());
}

#[test]
fn a_chat_s_stop_and_session_start_hooks_hand_over_its_unread_messages_once() {
    let p = Project::new();
    let worker = "claude-3f2a9c1e8b7d";
    assert!(
        p.coord(&["send", "--to", worker, "Rebase on main first."])
            .status
            .success()
    );
    let v = hook(&p, "claude-session-start", "claude-session-start.json");
    let context = v["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(context.contains("Rebase on main first."), "{context}");

    // Nothing is queued: without messages the chat may stop; with one, it is kept going once.
    assert_eq!(hook(&p, "claude-stop", "claude-stop.json"), Value::Null);
    assert!(
        p.coord(&["send", "--to", worker, "Also update the changelog."])
            .status
            .success()
    );
    let v = hook(&p, "claude-stop", "claude-stop.json");
    assert_eq!(v["decision"], "block");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("Also update the changelog."),
        "{v}"
    );
    assert_eq!(hook(&p, "claude-stop", "claude-stop.json"), Value::Null);

    // With a task to hand out, the messages come first in the same words.
    p.queue(r#"{"id":"h1","description":"first"}"#);
    assert!(
        p.coord(&["send", "--to", worker, "h1 is urgent."])
            .status
            .success()
    );
    let v = hook(&p, "claude-stop", "claude-stop.json");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("h1 is urgent."), "{reason}");
    assert!(reason.contains("your next task is h1"), "{reason}");
    let unread = json_of(&p, &["inbox", "--worker", worker, "--unread", "--json"]);
    assert_eq!(unread["messages"], serde_json::json!([]));
}

#[test]
fn kill_9_while_sending_leaves_whole_messages_or_none() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x"},{"id":"b","description":"y"}]"#);
    json_of(&p, &["next", "--worker", "w1", "--json"]);
    json_of(&p, &["next", "--worker", "w2", "--json"]);
    crash_at(
        &p,
        "message:written",
        &["send", "--to", "w1", "lost before any inbox"],
    );
    let v = json_of(&p, &["inbox", "--worker", "w1", "--json"]);
    assert_eq!(v["messages"], serde_json::json!([]));
    crash_at(
        &p,
        "message:delivered",
        &["send", "--to", "all", "in the first inbox only"],
    );
    let w1 = json_of(&p, &["inbox", "--worker", "w1", "--json"]);
    let w2 = json_of(&p, &["inbox", "--worker", "w2", "--json"]);
    assert_eq!(w1["messages"][0]["text"], "in the first inbox only");
    assert_eq!(w2["messages"], serde_json::json!([]));
    // What the dead senders left in tmp/ is swept away.
    assert!(p.count("tmp") >= 1);
    assert!(p.coord(&["doctor", "--fix"]).status.success());
    assert_eq!(p.count("tmp"), 0);
}

#[test]
fn concurrent_senders_and_readers_see_every_message_whole_exactly_once() {
    let p = Project::new();
    let senders: Vec<_> = (0..4)
        .map(|s| {
            let mut cmd = std::process::Command::new("sh");
            cmd.arg("-c")
                .arg(format!(
                    "for i in $(seq 1 25); do {} send --to boss --from w{s} \"message $i of w{s} $(head -c 3000 /dev/zero | tr '\\0' x)\" >/dev/null || exit 1; done",
                    env!("CARGO_BIN_EXE_coord")
                ))
                .current_dir(p.path());
            cmd.spawn().unwrap()
        })
        .collect();
    let mut seen = std::collections::HashMap::new();
    let mut readers_done = false;
    let mut senders = senders;
    while !readers_done {
        readers_done = senders.iter_mut().all(|c| c.try_wait().unwrap().is_some());
        let v = json_of(&p, &["inbox", "--worker", "boss", "--unread", "--json"]);
        for m in v["messages"].as_array().unwrap() {
            let text = m["text"].as_str().unwrap();
            assert!(
                text.ends_with(&"x".repeat(3000)),
                "a message was read half-written"
            );
            *seen.entry(text[..20].to_string()).or_insert(0) += 1;
        }
    }
    for s in &mut senders {
        assert!(s.wait().unwrap().success());
    }
    assert_eq!(seen.len(), 100);
    assert!(
        seen.values().all(|&n| n == 1),
        "each unread message is read once"
    );
}

//! The edges of the newest surfaces: durations out of any clock's range, workspaces planted
//! above a project, and text from tasks and agents that tries to drive the operator's
//! terminal.

use std::os::unix::fs::PermissionsExt;

use super::support::*;

#[test]
fn durations_too_long_for_the_clock_are_refused_with_a_message_not_a_panic() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    let huge = "99999999999999999999999w";
    for args in [
        vec!["purge", "--completed", "--older-than", huge],
        vec!["events", "--since", huge],
        vec!["release", "t", "--worker", "w", "--for", huge],
        vec!["worker", "--id", "w", "--rescan", "99999999999999999999"],
        vec!["worker", "--id", "w", "--rescan", "18446744073709551615"],
        vec!["hook", "claude-idle", "--wait", "18446744073709551615"],
        vec!["config", "leaseSecs", "18446744073709551615"],
    ] {
        let out = p.coord(&args);
        let code = out.status.code();
        assert!(
            matches!(code, Some(2) | Some(4)),
            "{args:?} exited {code:?}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("100 years") || stderr(&out).contains("not a duration"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(p.files("pending").len(), 1, "nothing moved");
}

/// A project inside a folder whose `.coord` another user made (uid 65534 here, as root can).
fn planted() -> Option<(Project, std::path::PathBuf)> {
    let p = Project::new();
    let child = p.path().join("victim");
    std::fs::create_dir(&child).unwrap();
    p.queue(r#"{"id":"planted","description":"run rm -rf ~"}"#);
    let status = std::process::Command::new("chown")
        .args(["-R", "65534", p.root().to_str().unwrap()])
        .status()
        .unwrap();
    if !status.success() {
        eprintln!("skipped: this user cannot give a folder to another user");
        return None;
    }
    Some((p, child))
}

#[test]
fn a_workspace_another_user_planted_above_the_project_is_refused() {
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("skipped: needs root to make a folder another user's");
        return;
    }
    let Some((p, child)) = planted() else { return };
    for args in [
        vec!["status"],
        vec!["next", "--worker", "victim"],
        vec!["add", "--", "true"],
    ] {
        let out = p.command(&args).current_dir(&child).output().unwrap();
        assert_eq!(out.status.code(), Some(8), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("refusing to use"), "{err}");
        assert!(err.contains("belongs to uid 65534"), "{err}");
        assert!(err.contains("--root"), "{err}");
    }
    assert_eq!(p.count("pending"), 1, "the planted task was not taken");
    // Named explicitly, it is the user's choice.
    let out = p
        .command(&["status", "--json"])
        .current_dir(&child)
        .env("COORD_ROOT", p.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_workspace_anyone_can_write_is_refused_even_when_it_is_ours() {
    let p = Project::new();
    let child = p.path().join("sub");
    std::fs::create_dir(&child).unwrap();
    std::fs::set_permissions(p.root(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = p.command(&["status"]).current_dir(&child).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("writable by every user"),
        "{}",
        stderr(&out)
    );
    std::fs::set_permissions(p.root(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = p.command(&["status"]).current_dir(&child).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

const EVIL: &str = "\u{1b}]52;c;ZWNobyBoaQ==\u{7}\u{1b}[2J\r\u{9b}31m\u{202e}";

/// `text` without coord's own colour codes (ESC [ n m).
fn without_own_colour(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        match after[digits..].starts_with('m') && digits > 0 {
            true => rest = &after[digits + 1..],
            false => {
                out.push('\x1b');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn assert_escaped(what: &str, text: &str) {
    let text = &without_own_colour(text);
    for bad in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}'] {
        assert!(
            !text.contains(bad),
            "{what} printed {:?} raw: {text:?}",
            bad
        );
    }
    assert!(
        text.contains("\\x1b]52;c;") || what.contains("\"ls\""),
        "{what} hid the text: {text:?}"
    );
}

/// `coord ARGS` writing as it would to a terminal: colour forced on, so nothing strips the
/// escapes on the way.
fn as_on_a_terminal(p: &Project, args: &[&str]) -> std::process::Output {
    p.command(args)
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap()
}

#[test]
fn text_from_tasks_and_agents_reaches_the_terminal_escaped_and_json_unchanged() {
    let p = Project::new();
    let task = serde_json::json!({"id": "evil", "description": format!("desc {EVIL}")});
    p.queue(&task.to_string());
    let out = p.coord(&["next", "--worker", "agent", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for args in [
        vec![
            "heartbeat",
            "--worker",
            "agent",
            "--note",
            &format!("note {EVIL}"),
        ],
        vec!["send", "--to", "agent", &format!("mail {EVIL}")],
        vec!["feedback", "--worker", "agent", &format!("feedback {EVIL}")],
        vec![
            "ask",
            "evil",
            "--worker",
            "agent",
            &format!("question {EVIL}"),
        ],
    ] {
        let out = p.coord(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    for args in [
        vec!["status"],
        vec!["show", "evil"],
        vec!["questions"],
        vec!["ls"],
        vec!["inbox"],
        vec!["inbox", "--worker", "agent"],
    ] {
        let out = as_on_a_terminal(&p, &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_escaped(&format!("{args:?}"), &stdout(&out));
    }
    let out = p.coord(&["answer", "evil", &format!("answer {EVIL}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = p.coord(&[
        "fail",
        "evil",
        "--worker",
        "agent",
        "--reason",
        &format!("why {EVIL}"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for args in [vec!["show", "evil"], vec!["ls"]] {
        let out = as_on_a_terminal(&p, &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_escaped(&format!("{args:?}"), &stdout(&out));
    }
    // JSON keeps the text exactly.
    let out = p.coord(&["show", "evil", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["task"]["description"], format!("desc {EVIL}"));
}

#[test]
fn a_command_s_output_is_escaped_on_a_terminal_and_kept_byte_for_byte_in_a_pipe() {
    let p = Project::new();
    p.queue(
        r#"{"id":"loud","description":"x","maxAttempts":1,
            "command":"printf 'out \\033]52;c;ZWNobyBoaQ==\\007\\033[2J\\n'; exit 3"}"#,
    );
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    let piped = p.coord(&["logs", "loud"]);
    assert!(
        stdout(&piped).contains("out \u{1b}]52;c;ZWNobyBoaQ==\u{7}\u{1b}[2J"),
        "a pipe gets the bytes as written: {:?}",
        stdout(&piped)
    );
    let coord = env!("CARGO_BIN_EXE_coord");
    let shown = std::process::Command::new("script")
        .args(["-qec", &format!("{coord} logs loud"), "/dev/null"])
        .current_dir(p.path())
        .env_remove("COORD_ROOT")
        .output()
        .unwrap();
    assert!(shown.status.success(), "{}", stderr(&shown));
    let text = stdout(&shown);
    assert!(
        text.contains("out \\x1b]52;c;ZWNobyBoaQ==\\x07\\x1b[2J"),
        "{text:?}"
    );
    assert!(!text.contains('\u{7}'), "{text:?}");
}

#[test]
fn a_message_to_a_worker_that_never_ran_here_warns_and_one_to_a_known_worker_does_not() {
    let p = Project::new();
    let out = p.coord(&["send", "--to", "agnt-9", "hello"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: no worker named agnt-9 has run here"),
        "{}",
        stderr(&out)
    );
    let out = p.coord(&["heartbeat", "--worker", "agent-9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = p.coord(&["send", "--to", "agent-9", "hello"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn a_listener_counts_work_sent_to_review_or_to_a_question_as_run_and_ends_in_words() {
    use std::io::BufRead;
    let p = Project::new();
    p.queue(
        r#"{"id":"r","description":"x","review":true}
{"id":"q","description":"x"}
{"id":"later","description":"x"}"#,
    );
    let mut listener = p.spawn(&["worker", "--id", "L", "--watch", "--max-tasks", "2"]);
    let mut lines = std::io::BufReader::new(listener.stdout.take().unwrap()).lines();
    for expected in ["r", "q"] {
        let line = lines.next().expect("the listener hands a task").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["taskId"], expected, "{line}");
        let out = match expected {
            "r" => p.coord(&["complete", "r", "--worker", "L"]),
            _ => p.coord(&["ask", "q", "--worker", "L", "which one?"]),
        };
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert!(
        wait_for_exit(listener.id(), std::time::Duration::from_secs(30)),
        "--max-tasks 2 did not count review and a question"
    );
    let out = listener.wait_with_output().unwrap();
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("L: 0 completed, 0 retried, 0 failed, 0 invalid, 0 recovered, 1 waiting for review, 1 waiting for an answer"),
        "{err}"
    );
    assert!(!err.contains("schemaVersion"), "raw JSON on stderr: {err}");
    assert_eq!(p.count("pending"), 1, "the third task was left");
}

/// `coord status --json`'s state of worker `id`.
fn worker_state(p: &Project, id: &str) -> String {
    let st = p.status();
    st["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workerId"] == id)
        .map(|w| w["state"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn status_calls_an_agent_gone_once_its_lease_ran_out_as_recover_does() {
    let p = Project::new();
    p.queue(r#"{"id":"short","description":"x","leaseSecs":1}"#);
    let out = p.coord(&["next", "--worker", "agent", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(worker_state(&p, "agent"), "busy");
    // Nothing changes on disk when a lease runs out: look again until the deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while worker_state(&p, "agent") != "gone" {
        assert!(
            std::time::Instant::now() < deadline,
            "status still calls the agent {} after its 1 s lease",
            worker_state(&p, "agent")
        );
    }
    let out = p.coord(&["recover", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("pending"), 1, "recover agrees: the task went back");
}

#[test]
fn a_worker_started_under_an_agent_s_id_leaves_the_agent_s_task_alone() {
    let p = Project::new();
    p.queue(r#"{"id":"mine","description":"x"}"#);
    let out = p.coord(&["next", "--worker", "X", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = p.coord(&["worker", "--id", "X", "--exec", "true"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("worker X is an agent's: it holds mine within its lease"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.files("assigned/X"), ["mine.json"]);
    let out = p.coord(&["complete", "mine", "--worker", "X"]);
    assert!(
        out.status.success(),
        "the agent's claim stands: {}",
        stderr(&out)
    );
}

#[test]
fn a_restarted_listener_hands_its_agent_s_task_on_again_instead_of_taking_it_back() {
    use std::io::BufRead;
    let p = Project::new();
    p.queue(
        r#"{"id":"first","description":"x"}
{"id":"second","description":"x"}"#,
    );
    let mut listener = p.spawn(&["worker", "--id", "L", "--watch"]);
    let line = std::io::BufReader::new(listener.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["taskId"], "first");
    let token = v["token"].as_str().unwrap().to_string();
    signal(&listener, "TERM");
    assert!(listener.wait().unwrap().success());
    let mut again = p.spawn(&["worker", "--id", "L", "--watch"]);
    let mut lines = std::io::BufReader::new(again.stdout.take().unwrap()).lines();
    let v: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(v["taskId"], "first", "{v}");
    assert_eq!(v["token"], token.as_str(), "the agent keeps its claim");
    let out = p.coord(&["complete", "first", "--worker", "L", "--token", &token]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(v["taskId"], "second", "{v}");
    signal(&again, "TERM");
    assert!(again.wait().unwrap().success());
    let report = p.report("first");
    assert_eq!(report["attempt"], 1, "{report}");
    let shown = p.coord(&["show", "first", "--json"]);
    assert!(!stdout(&shown).contains("\"lost\""), "{}", stdout(&shown));
}

#[test]
fn a_task_near_the_queue_limit_that_coord_grows_stays_readable_and_known() {
    let p = Project::new();
    // Just under the 1 MiB a queued task may be; each failed attempt adds history.
    let big = "x".repeat((1 << 20) - 600);
    let task = serde_json::json!({
        "id": "big", "description": big, "maxAttempts": 3,
        "command": "echo failing on purpose; exit 3",
    });
    p.queue(&task.to_string());
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert_eq!(
        p.files("failed"),
        ["big.json"],
        "it ran out of attempts, visibly"
    );
    assert_eq!(p.report("big")["attempt"], 3);
    let shown = p.coord(&["show", "big", "--json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_eq!(p.status()["counts"]["failed"], 1);
    let out = p.coord(&["retry", "big"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn text_past_the_budget_is_refused_with_the_limit_and_the_task_stays_held() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    assert!(
        p.coord(&["next", "--worker", "a", "--json"])
            .status
            .success()
    );
    // Past the limit, and as long as one argument may be (128 KiB).
    let huge = "n".repeat(100 << 10);
    for args in [
        vec!["heartbeat", "--worker", "a", "--note", &huge],
        vec!["ask", "t", "--worker", "a", &huge],
        vec!["fail", "t", "--worker", "a", "--reason", &huge],
    ] {
        let out = p.coord(&args);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{:?}: {}",
            &args[..2],
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("the limit is 65536"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(p.files("assigned/a"), ["t.json"]);
    // A note at the limit is kept, and the file still reads back.
    let note = "n".repeat(64 << 10);
    assert!(
        p.coord(&["heartbeat", "--worker", "a", "--note", &note])
            .status
            .success()
    );
    assert!(
        p.coord(&["complete", "t", "--worker", "a"])
            .status
            .success()
    );
}

#[test]
fn history_that_would_pass_the_file_budget_is_compacted_and_every_attempt_still_counts() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x","maxAttempts":200,"retryBackoffSecs":0}"#);
    let reason = "r".repeat(60 << 10);
    let next_and_fail = |attempt: u32| {
        let v: serde_json::Value =
            serde_json::from_slice(&p.coord(&["next", "--worker", "a", "--json"]).stdout).unwrap();
        assert_eq!(v["attempt"], attempt, "{v}");
        let out = p.coord(&["fail", "t", "--worker", "a", "--reason", &reason]);
        assert!(out.status.success(), "attempt {attempt}: {}", stderr(&out));
    };
    next_and_fail(1);
    // 130 such failures, as coord writes them (7.8 MiB), put in place at once.
    let name = p.files("pending")[0].clone();
    let path = p.root().join("pending").join(&name);
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let entry = file["coord"]["history"][0].clone();
    file["coord"]["history"] = (1..=130)
        .map(|n| {
            let mut e = entry.clone();
            e["attempt"] = n.into();
            e
        })
        .collect();
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    // Eight more make 8.4 MiB of reasons: the file is cut to fit, never past it.
    for attempt in 131..=138 {
        next_and_fail(attempt);
    }
    let size = std::fs::metadata(p.root().join("pending").join(&p.files("pending")[0]))
        .unwrap()
        .len();
    assert!(size <= 8 << 20, "{size} bytes");
    let v: serde_json::Value =
        serde_json::from_slice(&p.coord(&["show", "t", "--json"]).stdout).unwrap();
    assert_eq!(
        v["attempt"], 139,
        "the entries stay: they count the attempts"
    );
    assert!(
        v["history"][0]["reason"]
            .as_str()
            .unwrap()
            .ends_with("bytes cut)")
    );
}

/// A command that holds `run.lock` for its whole life (its `sleep` too), notes in the ledger
/// when it starts, when it ends, and when it found another run of itself; it ignores TERM, so
/// a worker that stops it must wait out the sleep. `BEFORE` runs first, as the task itself.
fn overlapping_task(id: &str, before: &str) -> String {
    let command = format!(
        "exec 9>>run.lock; flock -n 9 || {{ echo OVERLAP >> ledger; exit 1; }}; \
         echo start >> ledger; trap '' TERM; {before}; sleep 2; echo end >> ledger"
    );
    serde_json::json!({"id": id, "description": "x", "command": command}).to_string()
}

fn ledger(p: &Project) -> String {
    std::fs::read_to_string(p.path().join("ledger")).unwrap_or_default()
}

#[test]
fn a_task_taken_from_a_running_command_is_not_claimed_again_until_that_run_is_over() {
    if !has_flock() {
        return;
    }
    let p = Project::new();
    let mut first = p.spawn(&["worker", "--id", "w1", "--watch", "--quiet"]);
    assert!(p.wait(BOUND_EDGE, || {
        p.status()["workers"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    }));
    p.queue(&overlapping_task("rel", "true"));
    assert!(p.wait(BOUND_EDGE, || ledger(&p).contains("start")));
    let mut second = p.spawn(&["worker", "--id", "w2", "--watch", "--quiet"]);
    assert!(p.wait(BOUND_EDGE, || {
        p.status()["workers"]
            .as_array()
            .is_some_and(|w| w.len() == 2)
    }));
    // Another process hands the task back while its command still runs (and ignores TERM).
    let out = p.coord(&["release", "rel", "--worker", "w1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let why = stdout(&p.coord(&["show", "rel", "--json"]));
    assert!(
        why.contains("its command is still being stopped on w1") || ledger(&p).contains("end"),
        "{why}"
    );
    assert!(p.wait(BOUND_EDGE, || p.count("completed") == 1));
    // The command asks, and the answer comes at once, while the run still lives.
    let ask = format!(
        "[ -n \"$COORD_ANSWER\" ] || {} ask \"$COORD_TASK_ID\" 'which?'",
        env!("CARGO_BIN_EXE_coord")
    );
    p.queue(&overlapping_task("ask", &ask));
    assert!(p.wait(BOUND_EDGE, || p.count("waiting") == 1));
    let out = p.coord(&["answer", "ask", "this one"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.wait(BOUND_EDGE, || p.count("completed") == 2));
    for w in [&first, &second] {
        signal(w, "TERM");
    }
    assert!(first.wait().unwrap().success());
    assert!(second.wait().unwrap().success());
    let ledger = ledger(&p);
    assert!(
        !ledger.contains("OVERLAP"),
        "two runs of one task at once:\n{ledger}"
    );
    assert_eq!(ledger.matches("start").count(), 4, "{ledger}");
}

const BOUND_EDGE: std::time::Duration = std::time::Duration::from_secs(60);

#[test]
fn a_bad_or_endless_journal_line_is_skipped_with_a_warning_and_the_rest_is_read() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x"},{"id":"b","description":"x"}]"#);
    for id in ["a", "b"] {
        assert!(
            p.coord(&["next", "--worker", "w", "--json"])
                .status
                .success()
        );
        assert!(p.coord(&["complete", id, "--worker", "w"]).status.success());
        if id == "a" {
            // Between the two tasks: a line that is not UTF-8, and one of 300 KB.
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(p.root().join("events.jsonl"))
                .unwrap();
            f.write_all(b"{\"event\":\"completed\",\"taskId\":\"\xff\xfe\"}\n")
                .unwrap();
            f.write_all(&vec![b'x'; 300_000]).unwrap();
            f.write_all(b"\n").unwrap();
        }
    }
    let out = p.coord(&["events", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let completed = stdout(&out).matches("\"event\":\"completed\"").count();
    assert_eq!(completed, 2, "{}", stdout(&out));
    assert!(stderr(&out).contains("skipped a line"), "{}", stderr(&out));
    let out = p.coord(&["stats", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"]["completed"], 2, "{v}");
}

#[test]
fn stats_counts_every_event_after_the_segment_its_cursor_was_in_is_purged() {
    use std::os::unix::fs::MetadataExt;
    let p = Project::new();
    let run = |args: &[&str]| {
        let out = p
            .command(args)
            .env("COORD_JOURNAL_SEGMENT_BYTES", "1500")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    };
    let finish = |from: usize, to: usize| {
        for i in from..to {
            let id = format!("t{i:02}");
            run(&["add", "--id", &id, "--", "true"]);
            run(&["next", "--worker", "w", "--json"]);
            run(&["complete", &id, "--worker", "w"]);
        }
    };
    finish(0, 5);
    run(&["stats", "--json"]);
    let cursor_ino = std::fs::metadata(p.root().join("events.jsonl"))
        .unwrap()
        .ino();
    finish(5, 30);
    // The segment the cursor was in, and every older one, go quiet and are purged.
    let segments: Vec<std::path::PathBuf> = std::fs::read_dir(p.root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut sorted = segments.clone();
    sorted.sort();
    let at = sorted
        .iter()
        .position(|s| std::fs::metadata(s).unwrap().ino() == cursor_ino)
        .expect("the cursor's file became a segment");
    assert!(at + 1 < sorted.len(), "newer segments remain: {sorted:?}");
    for old in &sorted[..=at] {
        let ok = std::process::Command::new("touch")
            .args(["-d", "2 days ago"])
            .arg(old)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    run(&["purge", "--journal", "--older-than", "1d"]);
    assert!(!sorted[at].exists(), "the cursor's segment was purged");
    let v: serde_json::Value = serde_json::from_slice(&run(&["stats", "--json"]).stdout).unwrap();
    assert_eq!(v["counts"]["completed"], 30, "{v}");
}

#[test]
fn following_a_task_s_log_ends_once_the_task_has_ended() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x","command":"echo one; sleep 0.3; echo two"}"#);
    let follower = p.spawn(&["logs", "t", "--follow"]);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        wait_for_exit(follower.id(), BOUND_EDGE),
        "logs --follow kept going after the task completed"
    );
    let out = follower.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("one\ntwo\n"), "{text}");
}

#[test]
fn a_batch_folder_renamed_by_hand_is_still_counted_waited_for_and_repaired_by_doctor() {
    let p = Project::new();
    let tasks: Vec<String> = (0..300)
        .map(|i| format!(r#"{{"id":"b{i:03}","description":"x","command":"true"}}"#))
        .collect();
    let file = p.write("batch.json", &format!("[{}]", tasks.join(",")));
    let out = p.coord(&["queue", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let folder = std::fs::read_dir(p.root().join("pending"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|e| e.is_dir())
        .expect("a big batch is queued as a folder");
    std::fs::rename(&folder, p.root().join("pending/mybatch")).unwrap();
    assert_eq!(p.status()["counts"]["pending"], 300);
    let out = p.coord(&["wait", "--timeout", "0.2"]);
    assert_eq!(
        out.status.code(),
        Some(11),
        "wait saw nothing to wait for: {}",
        stdout(&out)
    );
    let out = p.coord(&["queue", "--json", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let unchanged = stdout(&out).matches("\"outcome\":\"unchanged\"").count();
    assert_eq!(unchanged, 300, "re-queuing the file queued them again");
    assert_eq!(p.doctor_finds(), ["stray-folder"]);
    let out = p.coord(&["doctor", "--fix"]);
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{}",
        stderr(&out)
    );
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("completed"), 300);
}

#[test]
fn a_watching_worker_runs_a_retried_task_when_its_backoff_ends_not_at_the_next_rescan() {
    let p = Project::new();
    let mut worker = p.spawn(&[
        "worker", "--id", "w", "--watch", "--quiet", "--rescan", "600",
    ]);
    p.queue(
        r#"{"id":"again","description":"x","maxAttempts":2,
            "command":"[ \"$COORD_ATTEMPT\" = 2 ] || exit 1"}"#,
    );
    // The backoff is 1-2 s; the rescan is ten minutes away.
    assert!(
        p.wait(std::time::Duration::from_secs(20), || p.count("completed")
            == 1),
        "the retry waited for the rescan: {:?}",
        p.files("pending")
    );
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
    assert_eq!(p.report("again")["attempt"], 2);
}

#[test]
fn an_inbox_is_bounded_and_a_task_is_handed_over_before_a_few_of_its_messages() {
    let p = Project::new();
    p.queue(r#"{"id":"job","description":"the assignment"}"#);
    assert!(
        p.coord(&["heartbeat", "--worker", "agent"])
            .status
            .success()
    );
    let long = "m".repeat(60_000);
    for _ in 0..20 {
        assert!(p.coord(&["send", "--to", "agent", &long]).status.success());
    }
    let out = p.coord(&["next", "--worker", "agent", "--text"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let task_at = text
        .find("the assignment")
        .expect("the task is handed over");
    let mail_at = text.find("unread message(s)").expect("and a message");
    assert!(task_at < mail_at, "the task comes first");
    assert!(
        text.len() < 80_000,
        "{} bytes handed over at once",
        text.len()
    );
    assert!(
        text.contains("19 more unread"),
        "{}",
        &text[mail_at..mail_at + 200]
    );
    assert_eq!(
        p.count("messages/workers/agent/new"),
        19,
        "the rest stay unread"
    );
    for _ in 19..200 {
        assert!(
            p.coord(&["send", "--to", "agent", "short"])
                .status
                .success()
        );
    }
    let out = p.coord(&["send", "--to", "agent", "one too many"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds 200 unread messages"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hook_install_writes_only_into_the_project_s_own_folders_and_keeps_every_number() {
    let p = Project::new();
    // A .claude/ that is a link to a folder elsewhere is refused, and nothing there changes.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("settings.json"), "{}\n").unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), p.path().join(".claude")).unwrap();
    let out = p.coord(&["hook", "install", "claude"]);
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("is a symlink; left alone"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(elsewhere.path().join("settings.json")).unwrap(),
        "{}\n"
    );
    std::fs::remove_file(p.path().join(".claude")).unwrap();
    // A number past 64 bits would come back as a float: the file is left alone.
    let big = "{\"limit\": 123456789012345678901234567890}\n";
    p.write(".claude/settings.json", big);
    let out = p.coord(&["hook", "install", "claude"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("123456789012345678901234567890"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(p.path().join(".claude/settings.json")).unwrap(),
        big
    );
    // Run as a coord that is not the one on PATH, it says so; with it on PATH it writes `coord`.
    p.write(".claude/settings.json", "{\"n\": 18446744073709551615}\n");
    let out = p.coord(&["hook", "install", "claude"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not the `coord` on PATH"),
        "{}",
        stderr(&out)
    );
    let merged = std::fs::read_to_string(p.path().join(".claude/settings.json")).unwrap();
    assert!(merged.contains("18446744073709551615"), "{merged}");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_coord"))
        .parent()
        .unwrap();
    std::fs::remove_file(p.path().join(".claude/settings.json")).unwrap();
    let out = p
        .command(&["hook", "install", "claude"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::read_to_string(p.path().join(".claude/settings.json")).unwrap();
    assert!(written.contains("\"coord hook claude-stop\""), "{written}");
    assert!(!written.contains(bin.to_str().unwrap()), "{written}");
}

#[test]
fn state_folders_swapped_for_links_move_nothing_outside_and_doctor_names_them() {
    let p = Project::new();
    p.queue(r#"[{"id":"t1","description":"x"},{"id":"t2","description":"x"}]"#);
    let outside = tempfile::tempdir().unwrap();
    // completed/ swapped for a link to a folder of the attacker's choosing.
    std::fs::remove_dir(p.root().join("completed")).unwrap();
    std::os::unix::fs::symlink(outside.path(), p.root().join("completed")).unwrap();
    assert!(
        p.coord(&["next", "--worker", "a", "--json"])
            .status
            .success()
    );
    let out = p.coord(&["complete", "t1", "--worker", "a"]);
    assert!(!out.status.success(), "completed through the link");
    assert!(stderr(&out).contains("symbolic links"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "a file landed outside"
    );
    assert_eq!(p.files("assigned/a"), ["t1.json"], "the task stays held");
    // assigned/b/ swapped before b's first claim.
    std::fs::create_dir_all(p.root().join("assigned")).unwrap();
    std::os::unix::fs::symlink(outside.path(), p.root().join("assigned/b")).unwrap();
    let out = p.coord(&["next", "--worker", "b", "--json"]);
    assert!(
        !out.status.success(),
        "claimed through the link: {}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "a file landed outside"
    );
    // logs/ swapped: purge --logs removes nothing there.
    let logs = tempfile::tempdir().unwrap();
    std::fs::write(logs.path().join("precious.log"), "keep").unwrap();
    std::fs::rename(p.root().join("logs"), p.path().join("old-logs")).unwrap();
    std::os::unix::fs::symlink(logs.path(), p.root().join("logs")).unwrap();
    let _ = p.coord(&["purge", "--logs", "--older-than", "0s"]);
    assert!(
        logs.path().join("precious.log").exists(),
        "purge removed a file outside"
    );
    let found = p.doctor_finds();
    assert_eq!(
        found.iter().filter(|k| *k == "link").count(),
        3,
        "{found:?}"
    );
}

#[test]
fn doctor_names_a_file_of_another_user_and_an_oversized_task() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    std::fs::write(
        p.root().join("waiting/huge.json"),
        vec![b' '; (8 << 20) + 1],
    )
    .unwrap();
    let found = p.doctor_finds();
    assert!(found.contains(&"oversized".to_string()), "{found:?}");
    if rustix::process::geteuid().as_raw() == 0 {
        std::fs::remove_file(p.root().join("waiting/huge.json")).unwrap();
        let planted = p.root().join("workers/planted.json");
        std::fs::write(&planted, "{}").unwrap();
        std::os::unix::fs::chown(&planted, Some(65534), None).unwrap();
        assert_eq!(p.doctor_finds(), ["foreign-owner"]);
    }
}

#[test]
fn one_purge_after_a_quiet_run_removes_the_journal_its_own_events_do_not_keep_it() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x","command":"true"},{"id":"b","description":"x","command":"true"}]"#);
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    // The run was an hour ago: its reports say so, and the journal was last written then.
    for id in ["a", "b"] {
        let path = p.root().join("reports").join(format!("{id}.json"));
        let mut report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let then = jiff::Timestamp::now() - std::time::Duration::from_secs(3600);
        report["completedAt"] = then.to_string().into();
        std::fs::write(&path, report.to_string()).unwrap();
    }
    let journal = p.root().join("events.jsonl");
    let before = std::fs::metadata(&journal).unwrap().len();
    let ok = std::process::Command::new("touch")
        .args(["-d", "1 hour ago"])
        .arg(&journal)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = p.coord(&[
        "purge",
        "--completed",
        "--journal",
        "--older-than",
        "30m",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["removed"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        v["journalSegmentsRemoved"].as_array().unwrap().len(),
        1,
        "{v}"
    );
    let after = std::fs::metadata(&journal).map_or(0, |m| m.len());
    assert!(
        after < before,
        "the run's journal is still there ({after} bytes)"
    );
    assert!(
        !std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .contains("\"claimed\""),
        "the run's events are gone; only the purge's own are left"
    );
}

#[test]
fn a_follower_sees_every_event_once_across_rotations_and_a_long_lived_writer() {
    let p = Project::new();
    let small = |args: &[&str]| {
        let mut cmd = p.command(args);
        cmd.env("COORD_JOURNAL_SEGMENT_BYTES", "1500");
        cmd
    };
    let mut follower = small(&["events", "--follow", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Lines::stdout(&mut follower);
    // A long-lived writer (the worker keeps its journal open) beside short-lived ones.
    let mut worker = small(&["worker", "--id", "w", "--watch", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let small = &small;
            s.spawn(move || {
                for i in 0..40 {
                    let id = format!("t{t}-{i:02}");
                    let out = small(&["add", "--id", &id, "--", "true"]).output().unwrap();
                    assert!(out.status.success(), "{}", stderr(&out));
                }
            });
        }
    });
    assert!(p.wait(BOUND_EDGE, || p.count("completed") == 160));
    let all_seen = lines.wait_for_count("\"event\":\"completed\"", 160, BOUND_EDGE);
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
    signal(&follower, "TERM");
    let _ = follower.wait();
    assert!(all_seen, "the follower missed completions");
    let seen = lines.seen();
    let mut counts: std::collections::HashMap<(String, String), usize> = Default::default();
    for line in seen.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = (
            v["taskId"].as_str().unwrap().to_string(),
            v["event"].as_str().unwrap().to_string(),
        );
        *counts.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "printed more than once: {twice:?}");
    for kind in ["queued", "claimed", "completed"] {
        let n = counts.keys().filter(|(_, e)| e == kind).count();
        assert_eq!(n, 160, "{kind} events seen");
    }
    assert!(
        p.count("events") > 3,
        "the journal rotated: {:?}",
        p.files("events")
    );
}

#[test]
fn doctor_names_an_oversized_file_in_a_finished_state_too() {
    let p = Project::new();
    std::fs::write(
        p.root().join("completed/huge.json"),
        vec![b' '; (8 << 20) + 1],
    )
    .unwrap();
    assert!(p.doctor_finds().contains(&"oversized".to_string()));
}

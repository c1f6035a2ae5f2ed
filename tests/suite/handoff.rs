//! Agent hand-off: a task claimed by one process and finished by another, as the same worker.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use serde_json::Value;

use super::support::*;

const BOUND: Duration = Duration::from_secs(20);

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn summary_tasks() -> &'static str {
    r#"[{"id":"task-001","description":"summary one","outputFiles":["out/1.md"],"acceptance":{"minWords":3,"maxWords":50}},
        {"id":"task-002","description":"summary two","outputFiles":["out/2.md"],"acceptance":{"minWords":3,"maxWords":50}},
        {"id":"task-003","description":"summary three","outputFiles":["out/3.md"],"acceptance":{"minWords":3,"maxWords":50}}]"#
}

#[test]
fn three_tasks_end_to_end_with_only_next_and_complete() {
    let p = Project::new();
    p.queue(summary_tasks());
    let mut done = Vec::new();
    loop {
        let out = p.coord(&["next", "--worker", "agent-1", "--json"]);
        if out.status.code() == Some(10) {
            let v = json(&out);
            assert_eq!(v["status"], "empty");
            assert!(v["retryAfterSecs"].is_u64());
            break;
        }
        assert!(out.status.success(), "{}", stderr(&out));
        let v = json(&out);
        let id = v["taskId"].as_str().unwrap().to_string();
        assert_eq!(v["attempt"], 1);
        assert!(v["taskFile"].as_str().unwrap().starts_with('/'));
        assert!(v["projectDir"].as_str().unwrap().starts_with('/'));
        let output = v["task"]["outputFiles"][0].as_str().unwrap();
        p.write(output, "A short summary of the document.");
        let out = p.coord(&[
            "complete",
            &id,
            "--worker",
            "agent-1",
            "--token",
            v["token"].as_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        done.push(id);
    }
    assert_eq!(done, ["task-001", "task-002", "task-003"]);
    let st = p.status();
    let agent = &st["workers"][0];
    assert_eq!(agent["workerId"], "agent-1");
    assert_eq!(agent["mode"], "handoff");
    assert_eq!(
        agent["state"], "idle",
        "a hand-off worker is not shown as gone: {st}"
    );
    let r = p.report("task-002");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["workerId"], "agent-1");
    let checks: Vec<&str> = r["validation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["exists", "minWords", "maxWords"]);
}

#[test]
fn the_field_report_listener_completion_from_another_process_and_next_task_pushed() {
    let p = Project::new();
    p.queue(summary_tasks());
    // Attempt 1 of the field report: a listener that stays attached.
    let mut listener = p.spawn(&["worker", "--id", "worker-B", "--watch"]);
    let mut lines = BufReader::new(listener.stdout.take().unwrap()).lines();
    for expected in ["task-001", "task-002", "task-003"] {
        let line = lines
            .next()
            .expect("the listener prints the next task")
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["taskId"], expected, "{line}");
        // Attempt 3: the wrong worker is refused, naming the holder.
        let out = p.coord(&["complete", expected, "--worker", "worker-C"]);
        assert_eq!(out.status.code(), Some(5));
        assert!(
            stderr(&out).contains(&format!("{expected} is held by worker-B, not worker-C")),
            "{}",
            stderr(&out)
        );
        // Attempt 3 again: a second process completes as the same worker.
        p.write(
            v["task"]["outputFiles"][0].as_str().unwrap(),
            "Summary words go here.",
        );
        let out = p.coord(&[
            "complete",
            expected,
            "--worker",
            "worker-B",
            "--token",
            v["token"].as_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        // Attempt 2 and the missing auto-assignment: the next line arrives with no further command.
    }
    assert!(p.wait(BOUND, || p.count("completed") == 3));
    signal(&listener, "TERM");
    assert!(listener.wait().unwrap().success());
    let log = std::fs::read_to_string(p.root().join("logs/worker-B.log")).unwrap();
    assert_eq!(log.matches("(by `coord complete`)").count(), 3, "{log}");
}

#[test]
fn a_failed_check_keeps_the_task_held_until_the_work_is_fixed() {
    let p = Project::new();
    p.queue(r#"{"id":"essay","description":"write","outputFiles":["essay.md"],"acceptance":{"minWords":5,"contains":["Conclusion"],"verify":"grep -q ok essay.md"}}"#);
    let v = json(&p.coord(&["next", "--worker", "a", "--json"]));
    p.write("essay.md", "too short");
    let out = p.coord(&["complete", "essay", "--worker", "a"]);
    assert_eq!(out.status.code(), Some(6));
    let err = stderr(&out);
    assert!(
        err.contains("essay.md minWords: 2 words, at least 5 required"),
        "{err}"
    );
    assert!(
        err.contains("essay.md contains: does not contain \"Conclusion\""),
        "{err}"
    );
    assert!(
        err.contains("verify: `grep -q ok essay.md` failed"),
        "{err}"
    );
    assert!(err.contains("the task is still yours"), "{err}");
    assert_eq!(p.files("assigned/a"), ["essay.json"]);

    p.write(
        "essay.md",
        "it is ok now and long enough. Conclusion: done.",
    );
    let out = p.coord(&[
        "complete",
        "essay",
        "--worker",
        "a",
        "--token",
        v["token"].as_str().unwrap(),
        "--note",
        "fixed",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = p.report("essay");
    assert_eq!(r["note"], "fixed");
    assert!(
        r["validation"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true)
    );

    let out = p.coord(&["complete", "essay", "--worker", "a"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("essay was already completed by a at "),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.count("completed"), 1);
}

#[test]
fn a_token_from_an_earlier_attempt_is_refused() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    let first = json(&p.coord(&["next", "--worker", "a", "--json"]));
    assert_eq!(first["token"], "1-1");
    let out = p.coord(&["fail", "t", "--worker", "a", "--reason", "network down"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The retry waits out its backoff (1 to 2 s by default); `--wait` returns when it is due.
    let out = p.coord(&["next", "--worker", "a", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(10),
        "not ready before its retry time"
    );
    let second = json(&p.coord(&["next", "--worker", "a", "--json", "--wait=10"]));
    assert_eq!(second["attempt"], 2);
    let out = p.coord(&["complete", "t", "--worker", "a", "--token", "1-1"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("t is on attempt 2, token 2-2"),
        "{}",
        stderr(&out)
    );
    let out = p.coord(&[
        "fail",
        "t",
        "--worker",
        "a",
        "--reason",
        "gave up",
        "--no-retry",
    ]);
    assert!(out.status.success());
    assert_eq!(p.files("failed"), ["t.json"]);
    let r = p.report("t");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["reason"], "gave up");
}

#[test]
fn an_expired_lease_returns_the_task_and_fences_the_old_holder() {
    let p = Project::new();
    p.queue(r#"{"id":"slowpoke","description":"x","leaseSecs":1}"#);
    let v = json(&p.coord(&["next", "--worker", "sleepy", "--json"]));
    let out = p.coord(&[
        "heartbeat",
        "--worker",
        "sleepy",
        "--note",
        "read the input, writing section 2",
    ]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("holding slowpoke"));
    // A worker of this host takes the task back once the lease has run out (its rescan is the
    // clock, and its first look starts it); the workspace is paused, so it claims nothing itself.
    assert!(p.coord(&["pause"]).status.success());
    let mut keeper = p.spawn(&[
        "worker", "--id", "keeper", "--watch", "--rescan", "1", "--quiet",
    ]);
    assert!(p.wait(BOUND, || {
        p.files("pending")
            .iter()
            .any(|n| n.ends_with(".slowpoke.json"))
    }));
    signal(&keeper, "TERM");
    assert!(keeper.wait().unwrap().success());
    assert!(p.coord(&["resume"]).status.success());
    let out = p.coord(&[
        "complete",
        "slowpoke",
        "--worker",
        "sleepy",
        "--token",
        v["token"].as_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(5));
    let err = stderr(&out);
    assert!(
        err.contains("slowpoke is no longer held by sleepy"),
        "{err}"
    );
    assert!(err.contains("lease expired"), "{err}");

    let taken = json(&p.coord(&["next", "--worker", "rescuer", "--json"]));
    assert_eq!(taken["attempt"], 2);
    assert_eq!(
        taken["lastNote"]["text"],
        "read the input, writing section 2"
    );
    let show = json(&p.coord(&["show", "slowpoke", "--json"]));
    assert_eq!(show["workerId"], "rescuer");
    assert_eq!(show["history"][0]["workerId"], "sleepy");
    assert_eq!(show["history"][0]["outcome"], "lost");
}

#[test]
fn next_waits_on_events_and_returns_when_a_task_is_queued() {
    let p = Project::new();
    let out = p.coord(&["next", "--worker", "w", "--json"]);
    assert_eq!(out.status.code(), Some(10));
    let waiter = p.spawn(&["next", "--worker", "w", "--wait=60", "--json"]);
    // Queue once the waiter is registered (its record appears when it starts waiting).
    assert!(p.wait(BOUND, || p.root().join("workers/w.json").exists()));
    p.queue(r#"{"id":"arrives","description":"x"}"#);
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["taskId"], "arrives");
}

#[test]
fn next_refuses_an_id_a_running_worker_uses() {
    let p = Project::new();
    let mut worker = p.spawn(&["worker", "--id", "busy", "--watch"]);
    let mut lines = Lines::of(&mut worker);
    lines.expect("waiting for work");
    let out = p.coord(&["next", "--worker", "busy"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("worker busy is already running"),
        "{}",
        stderr(&out)
    );
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
}

#[test]
fn eight_concurrent_next_callers_claim_each_of_200_tasks_once() {
    let p = Project::new();
    let tasks: Vec<Value> = (0..200)
        .map(|i| serde_json::json!({"id": format!("n{i:03}"), "description": "x"}))
        .collect();
    p.queue(&serde_json::to_string(&tasks).unwrap());
    let claimed: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|w| {
                let p = &p;
                s.spawn(move || {
                    let worker = format!("agent-{w}");
                    let mut mine = Vec::new();
                    loop {
                        let out = p.coord(&["next", "--worker", &worker, "--json"]);
                        if out.status.code() == Some(10) {
                            return mine;
                        }
                        assert!(out.status.success(), "{}", stderr(&out));
                        let v = json(&out);
                        let id = v["taskId"].as_str().unwrap().to_string();
                        let out = p.coord(&[
                            "complete",
                            &id,
                            "--worker",
                            &worker,
                            "--token",
                            v["token"].as_str().unwrap(),
                        ]);
                        assert!(out.status.success(), "{}", stderr(&out));
                        mine.push(id);
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<&String> = claimed.iter().flatten().collect();
    let unique: HashSet<&&String> = all.iter().collect();
    assert_eq!(all.len(), 200, "each task claimed once");
    assert_eq!(unique.len(), 200);
    assert_eq!(p.count("completed"), 200);
    assert!(
        claimed.iter().filter(|c| !c.is_empty()).count() > 1,
        "the work was shared"
    );
}

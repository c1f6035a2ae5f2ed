//! Operator commands: cancel, retry, purge, pause and resume.

use std::time::Duration;

use super::support::*;

#[test]
fn cancel_takes_a_pending_task_and_fails_its_dependents() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x","command":"true"},{"id":"b","description":"x","dependsOn":["a"],"command":"true"}]"#);
    let out = p.coord(&["cancel", "a"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("cancelled  a (was pending)"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("failed     b (it depends on a)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.report("a")["status"], "cancelled");
    assert_eq!(p.files("failed"), ["a.json", "b.json"]);
    let out = p.coord(&["cancel", "a"]);
    assert_eq!(out.status.code(), Some(5), "a state conflict");
    assert!(
        stderr(&out).contains("already finished"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.coord(&["cancel", "ghost"]).status.code(), Some(7));
}

#[test]
fn cancelling_a_running_task_stops_its_command_and_the_worker_goes_on() {
    let p = Project::new();
    p.queue(r#"[{"id":"long","description":"x","command":"sleep 300 & echo $! > sleep.pid; touch started; wait; touch finished"},{"id":"next","description":"x","command":"true"}]"#);
    let mut worker = p.spawn(&["worker", "--id", "w", "--watch"]);
    let mut lines = Lines::of(&mut worker);
    lines.expect("running long");
    assert!(p.wait(Duration::from_secs(20), || {
        p.path().join("started").exists()
    }));
    let out = p.coord(&["cancel", "long"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("was assigned to w; its command stopped"),
        "{}",
        stdout(&out)
    );
    // `cancel` returned only once the command was over: a retry now cannot run beside it.
    let pid: u32 = std::fs::read_to_string(p.path().join("sleep.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the cancelled command still runs");
    lines.expect("long was cancelled while it ran");
    lines.expect("completed next");
    assert_eq!(p.report("long")["status"], "cancelled");
    assert!(!p.path().join("finished").exists());
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
}

#[test]
fn an_agent_cannot_complete_a_cancelled_task() {
    let p = Project::new();
    p.queue(r#"{"id":"essay","description":"x"}"#);
    assert!(p.coord(&["next", "--worker", "agent"]).status.success());
    assert!(p.coord(&["cancel", "essay"]).status.success());
    let out = p.coord(&["complete", "essay", "--worker", "agent"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out).contains("cancelled by"), "{}", stderr(&out));
}

#[test]
fn retry_sends_a_dead_letter_back_with_attempts_reset_and_history_kept() {
    let p = Project::new();
    p.queue(r#"{"id":"flaky","description":"x","command":"test -e fixed","maxAttempts":1}"#);
    // A task ran out of attempts: the drain exits 12.
    assert_eq!(
        p.coord(&["worker", "--id", "w", "--quiet"]).status.code(),
        Some(12)
    );
    assert_eq!(p.files("failed"), ["flaky.json"]);
    p.write("fixed", "");
    let out = p.coord(&["retry", "flaky"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("pending"), 1);
    assert!(
        !p.root().join("reports/flaky.json").exists(),
        "the old report is gone"
    );
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    let r = p.report("flaky");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["attempt"], 1, "attempts were reset");
    let history = &p.task("completed", "flaky")["coord"]["history"];
    assert_eq!(history[0]["outcome"], "failed");
    assert_eq!(history[1]["outcome"], "retried");
    let out = p.coord(&["retry", "flaky"]);
    assert_eq!(out.status.code(), Some(5), "a state conflict");
    assert!(
        stderr(&out).contains("flaky is completed, not failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn purge_removes_old_finished_tasks_but_keeps_what_blocked_tasks_need() {
    let p = Project::new();
    p.queue(r#"[{"id":"gate","description":"by an agent"},{"id":"old","description":"x","command":"true"},{"id":"base","description":"x","command":"true"}]"#);
    assert!(p.coord(&["next", "--worker", "agent"]).status.success());
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    p.queue(r#"{"id":"child","description":"x","dependsOn":["base","gate"]}"#);
    let out = p.coord(&["purge", "--completed", "--older-than", "1h"]);
    assert!(
        stdout(&out).contains("purged 0 task(s)"),
        "{}",
        stdout(&out)
    );
    let out = p.coord(&["purge", "--completed", "--older-than", "0s", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["removed"], serde_json::json!(["old"]));
    assert_eq!(v["kept"], serde_json::json!(["base"]));
    assert_eq!(p.files("completed"), ["base.json"]);
    assert!(!p.root().join("reports/old.json").exists());
    assert!(!p.root().join("logs/tasks/old.1.log").exists());
    let out = p.coord(&["purge", "--older-than", "1d"]);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn pause_stops_claiming_and_resume_wakes_a_watching_worker() {
    let p = Project::new();
    assert!(p.coord(&["pause"]).status.success());
    assert_eq!(p.status()["paused"], true);
    p.queue(r#"{"id":"held-back","description":"x","command":"true"}"#);
    let out = p.coord(&["worker", "--id", "batch", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(13),
        "a worker says the workspace is paused"
    );
    assert_eq!(
        p.count("completed"),
        0,
        "a paused workspace hands out nothing"
    );
    let out = p.coord(&["next", "--worker", "agent"]);
    assert_eq!(out.status.code(), Some(10));
    assert!(stdout(&out).contains("paused"), "{}", stdout(&out));
    let mut worker = p.spawn(&["worker", "--id", "w", "--watch", "--rescan", "3600"]);
    let mut lines = Lines::of(&mut worker);
    lines.expect("waiting for work");
    assert!(p.coord(&["resume"]).status.success());
    lines.expect("completed held-back");
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
    assert!(stdout(&p.coord(&["resume"])).contains("not paused"));
}

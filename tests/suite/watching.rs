//! Watching the work: `wait`, `status --watch`, `logs --follow`, `events --follow`, `stats`.
//! Every one of them is woken by file-system events.

use super::support::*;

#[test]
fn wait_blocks_until_everything_queued_has_finished() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x","command":"true"},{"id":"b","description":"x","command":"true"}]"#);
    let out = p.coord(&["wait", "--timeout", "0.2"]);
    assert_eq!(
        out.status.code(),
        Some(11),
        "nobody works: the time runs out"
    );
    assert!(
        stdout(&out).contains("2 task(s) not finished: a, b"),
        "{}",
        stdout(&out)
    );
    let waiter = p.spawn(&["wait"]);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success());
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("all 2 task(s) completed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn wait_for_named_tasks_exits_12_when_one_did_not_complete() {
    let p = Project::new();
    p.queue(r#"[{"id":"good","description":"x","command":"true"},{"id":"bad","description":"x","command":"false","maxAttempts":1}]"#);
    let waiter = p.spawn(&["wait", "good", "bad", "--json"]);
    // A task ran out of attempts: the drain exits 12.
    assert_eq!(
        p.coord(&["worker", "--id", "w", "--quiet"]).status.code(),
        Some(12)
    );
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], serde_json::json!(["bad"]));
    assert_eq!(p.coord(&["wait", "nope"]).status.code(), Some(7));
}

#[test]
fn status_watch_prints_again_when_the_queue_changes() {
    let p = Project::new();
    let mut watcher = p.spawn(&["status", "--watch", "--json"]);
    let mut lines = Lines::stdout(&mut watcher);
    lines.expect("\"pending\":0");
    p.queue(r#"{"id":"new","description":"x"}"#);
    lines.expect("\"pending\":1");
    assert!(p.coord(&["cancel", "new"]).status.success());
    lines.expect("\"cancelled\":1");
    watcher.kill().unwrap();
    watcher.wait().unwrap();
}

#[test]
fn logs_follow_shows_worker_lines_as_they_are_written() {
    let p = Project::new();
    let mut worker = p.spawn(&["worker", "--id", "busy", "--watch", "--quiet"]);
    let mut follow = p.spawn(&["logs", "--follow"]);
    let mut lines = Lines::stdout(&mut follow);
    lines.expect("waiting for work");
    p.queue(r#"{"id":"visible","description":"x","command":"true"}"#);
    lines.expect("completed visible");
    let out = p.coord(&["logs", "busy"]);
    assert!(
        stdout(&out).contains("TASK ASSIGNED visible"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.coord(&["logs", "nobody"]).status.code(), Some(4));
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
    follow.kill().unwrap();
    follow.wait().unwrap();
}

#[test]
fn events_follow_shows_each_state_change() {
    let p = Project::new();
    let mut follow = p.spawn(&["events", "--follow", "--json"]);
    let mut lines = Lines::stdout(&mut follow);
    p.queue(r#"[{"id":"e1","description":"x","command":"true"},{"id":"e2","description":"x","dependsOn":["e1"],"command":"true"}]"#);
    lines.expect(r#""event":"queued","taskId":"e1""#);
    lines.expect(r#""event":"blocked","taskId":"e2""#);
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    for needle in [
        r#""event":"claimed","taskId":"e1","workerId":"w","attempt":1"#,
        r#""event":"started","taskId":"e1""#,
        r#""event":"completed","taskId":"e1""#,
        r#""event":"unblocked","taskId":"e2""#,
        r#""event":"completed","taskId":"e2""#,
    ] {
        lines.expect(needle);
    }
    follow.kill().unwrap();
    follow.wait().unwrap();
    let out = p.coord(&["events"]);
    assert!(stdout(&out).contains("completed  e2"), "{}", stdout(&out));
}

#[test]
fn stats_count_outcomes_and_the_first_attempt_success_rate() {
    let p = Project::new();
    p.queue(
        r#"[
        {"id":"ok-1","description":"x","command":"true"},
        {"id":"ok-2","description":"x","command":"true"},
        {"id":"flaky","description":"x","command":"[ \"$COORD_ATTEMPT\" -ge 2 ]","retryBackoffSecs":0},
        {"id":"dead","description":"x","command":"false","maxAttempts":1},
        {"id":"dropped","description":"x"}
    ]"#,
    );
    assert!(p.coord(&["cancel", "dropped"]).status.success());
    // A task ran out of attempts: the drain exits 12.
    assert_eq!(
        p.coord(&["worker", "--id", "w", "--quiet"]).status.code(),
        Some(12)
    );
    let out = p.coord(&["stats", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["counts"]["completed"], 3);
    assert_eq!(s["counts"]["failed"], 1);
    assert_eq!(s["counts"]["cancelled"], 1);
    assert_eq!(s["firstAttemptSuccessRate"], 0.5, "{s}");
    assert_eq!(s["workers"][0]["completed"], 3);
    assert_eq!(s["runMs"]["count"], 3);
    assert_eq!(s["waitMs"]["count"], 4);
    let out = p.coord(&["stats"]);
    assert!(
        stdout(&out).contains("first attempt  50.0%"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn stats_read_only_the_events_since_their_last_call() {
    let p = Project::new();
    let tasks = |from: usize, to: usize| {
        let items: Vec<String> = (from..to)
            .map(|i| format!(r#"{{"id":"s{i}","description":"x","command":"true"}}"#))
            .collect();
        format!("[{}]", items.join(","))
    };
    p.queue(&tasks(0, 3));
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    let first = json_of(&p, &["stats", "--json"]);
    assert_eq!(first["runMs"]["count"], 3);
    let summary = p.root().join("stats.json");
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(kept["completed"], 3, "{kept}");
    // A finished task's file changed behind the summary's back is not read again: its
    // completion was summarised already.
    std::fs::write(p.root().join("completed/s0.json"), "not a task").unwrap();
    p.queue(&tasks(3, 5));
    assert!(
        p.coord(&["worker", "--id", "v", "--quiet"])
            .status
            .success()
    );
    let second = json_of(&p, &["stats", "--json"]);
    assert_eq!(second["runMs"]["count"], 5, "{second}");
    assert_eq!(second["workers"].as_array().unwrap().len(), 2, "{second}");
    // Deleted or unreadable, the summary is rebuilt from the whole journal.
    std::fs::write(&summary, "{ torn").unwrap();
    let rebuilt = json_of(&p, &["stats", "--json"]);
    assert_eq!(
        rebuilt["runMs"]["count"], 4,
        "s0's file is no task now: {rebuilt}"
    );
    std::fs::remove_file(&summary).unwrap();
    assert_eq!(json_of(&p, &["stats", "--json"])["waitMs"]["count"], 4);
}

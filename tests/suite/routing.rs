//! Which worker takes which task, and when: labels, files no two workers touch at once,
//! retry backoff and `notBefore`.

use std::time::Duration;

use super::support::*;

fn ledger(p: &Project) -> Vec<String> {
    std::fs::read_to_string(p.path().join("ledger.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn mkfifo(p: &Project, name: &str) -> std::path::PathBuf {
    let path = p.path().join(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[test]
fn a_worker_claims_only_tasks_whose_labels_it_has() {
    let p = Project::new();
    p.queue(r#"[{"id":"render","description":"x","requires":["gpu"],"command":"true"},{"id":"lint","description":"x","command":"true"}]"#);
    let out = p.coord(&["worker", "--id", "plain", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["lint.json"]);
    assert_eq!(p.count("pending"), 1);
    let out = p.coord(&["next", "--worker", "agent", "--labels", "linux"]);
    assert_eq!(
        out.status.code(),
        Some(10),
        "an agent without the label is offered nothing"
    );
    let out = p.coord(&["worker", "--id", "big", "--labels", "linux,gpu", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["lint.json", "render.json"]);
}

#[test]
fn two_workers_never_hold_tasks_touching_the_same_file() {
    let p = Project::new();
    mkfifo(&p, "hold");
    p.queue(
        r#"[
        {"id":"edit-1","description":"x","outputFiles":["docs/shared.md"],"command":"echo start-1 >> ledger.txt; cat hold > /dev/null; echo x > docs/shared.md; echo end-1 >> ledger.txt"},
        {"id":"edit-2","description":"x","targetFiles":["./docs//shared.md"],"command":"echo start-2 >> ledger.txt; echo end-2 >> ledger.txt"},
        {"id":"folder","description":"x","targetFiles":["docs"],"command":"echo start-3 >> ledger.txt; echo end-3 >> ledger.txt"},
        {"id":"elsewhere","description":"x","targetFiles":["src/lib.rs"],"command":"echo start-4 >> ledger.txt; echo end-4 >> ledger.txt"}
    ]"#,
    );
    std::fs::create_dir(p.path().join("docs")).unwrap();
    let mut one = p.spawn(&[
        "worker",
        "--id",
        "one",
        "--watch",
        "--max-tasks",
        "1",
        "--quiet",
    ]);
    assert!(p.wait(Duration::from_secs(20), || {
        ledger(&p).contains(&"start-1".to_string())
    }));
    let out = p.coord(&["worker", "--id", "two", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // While edit-1 holds docs/shared.md, the second worker took only the task elsewhere.
    assert_eq!(p.files("completed"), ["elsewhere.json"]);
    assert_eq!(p.count("pending"), 2, "edit-2 and folder wait");
    std::fs::write(p.path().join("hold"), "go").unwrap();
    assert!(one.wait().unwrap().success());
    let out = p.coord(&["worker", "--id", "two", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("completed"), 4);
    let order = ledger(&p);
    let at = |s: &str| order.iter().position(|l| l == s).unwrap();
    assert!(
        at("end-1") < at("start-2") && at("end-1") < at("start-3"),
        "{order:?}"
    );
}

#[test]
fn a_task_may_opt_out_of_exclusive_files() {
    let p = Project::new();
    mkfifo(&p, "hold");
    p.queue(
        r#"[
        {"id":"long","description":"x","targetFiles":["notes.md"],"command":"echo start-long >> ledger.txt; cat hold > /dev/null"},
        {"id":"reader","description":"x","targetFiles":["notes.md"],"exclusiveFiles":false,"command":"echo reader >> ledger.txt"}
    ]"#,
    );
    let mut one = p.spawn(&[
        "worker",
        "--id",
        "one",
        "--watch",
        "--max-tasks",
        "1",
        "--quiet",
    ]);
    assert!(p.wait(Duration::from_secs(20), || {
        ledger(&p).contains(&"start-long".to_string())
    }));
    let out = p.coord(&["worker", "--id", "two", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["reader.json"]);
    std::fs::write(p.path().join("hold"), "go").unwrap();
    assert!(one.wait().unwrap().success());
}

#[test]
fn a_failed_attempt_waits_its_backoff_and_a_batch_worker_waits_for_it() {
    let p = Project::new();
    p.queue(r#"{"id":"flaky","description":"x","command":"[ \"$COORD_ATTEMPT\" -ge 2 ]"}"#);
    let out = p.coord(&["worker", "--id", "w"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("waiting"), "{}", stderr(&out));
    let r = p.report("flaky");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["attempt"], 2);
    let task = p.task("completed", "flaky");
    let failed_at: jiff::Timestamp = task["coord"]["history"][0]["at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let retried_at: jiff::Timestamp = r["startedAt"].as_str().unwrap().parse().unwrap();
    let gap = failed_at.duration_until(retried_at).as_secs_f64();
    assert!(gap >= 0.99, "the first retry waits 1 to 2 s, not {gap}");
}

#[test]
fn not_before_holds_a_task_back_until_its_time() {
    let p = Project::new();
    let soon = jiff::Timestamp::now() + Duration::from_millis(1500);
    let tomorrow = jiff::Timestamp::now() + Duration::from_secs(86_400);
    p.queue(&format!(
        r#"[{{"id":"soon","description":"x","notBefore":"{soon}","command":"true"}},{{"id":"later","description":"x","notBefore":"{tomorrow}","command":"true"}}]"#
    ));
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["soon.json"]);
    let started: jiff::Timestamp = p.report("soon")["startedAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(started >= soon, "started {started}, not before {soon}");
    assert_eq!(
        p.count("pending"),
        1,
        "a task due tomorrow is not waited for"
    );
}

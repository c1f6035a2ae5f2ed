//! `coord status`: counts and workers, for people and for scripts.

use std::time::Duration;

use super::support::*;

const BOUND: Duration = Duration::from_secs(20);

#[test]
fn status_json_keeps_the_field_report_names() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x","command":"true"},{"id":"b","description":"x","command":"exit 1","maxAttempts":1}]"#);
    let out = p.coord(&["worker", "--id", "done-worker", "--quiet"]);
    assert_eq!(out.status.code(), Some(12), "b ran out of attempts");
    p.queue(r#"[{"id":"c","description":"x","command":"while [ ! -e go ]; do sleep 0.05; done"},{"id":"d","description":"waits"}]"#);
    let mut busy = p.spawn(&["worker", "--id", "busy-worker", "--watch"]);
    let mut lines = Lines::of(&mut busy);
    lines.expect("running c");

    let st = p.status();
    assert_eq!(st["counts"]["pending"], 1);
    assert_eq!(st["counts"]["assigned"], 1);
    assert_eq!(st["counts"]["completed"], 1);
    assert_eq!(st["counts"]["failed"], 1);
    let workers = st["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 2);
    let w = workers
        .iter()
        .find(|w| w["workerId"] == "busy-worker")
        .unwrap();
    assert_eq!(w["busy"], true);
    assert_eq!(w["currentTask"], "c");
    assert_eq!(w["state"], "busy");
    assert_eq!(w["pid"], busy.id());
    assert!(w["host"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(w["lastSeen"].as_str().is_some_and(|s| s.ends_with('Z')));
    let w = workers
        .iter()
        .find(|w| w["workerId"] == "done-worker")
        .unwrap();
    assert_eq!(w["state"], "stopped");
    assert_eq!(w["busy"], false);
    assert!(w["currentTask"].is_null());

    let human = stdout(&p.coord(&["status"]));
    assert!(
        human.contains("pending 1   assigned 1   completed 1   failed 1"),
        "{human}"
    );
    assert!(human.contains("busy-worker"), "{human}");

    p.write("go", "");
    assert!(p.wait(BOUND, || p.count("completed") == 2));
    // The listener hands d to an agent; stopped, it leaves d held under its lease.
    assert!(p.wait(BOUND, || p.files("assigned/busy-worker") == ["d.json"]));
    signal(&busy, "TERM");
    assert!(busy.wait().unwrap().success());
    let st = p.status();
    assert_eq!(st["counts"]["assigned"], 1);
    let out = p.coord(&["complete", "d", "--worker", "busy-worker"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

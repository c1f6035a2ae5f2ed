//! Concurrency limits per label: at most N held tasks requiring a label, whatever the number of
//! workers racing for them.

use std::time::Duration;

use super::support::*;

const BOUND: Duration = Duration::from_secs(60);

#[test]
fn racing_workers_never_hold_more_tasks_of_a_label_than_its_limit() {
    let p = Project::new();
    assert!(p.coord(&["config", "limit.deploy", "2"]).status.success());
    // Each deploy writes "+" when it starts and "-" when it ends to a shared ledger; the ledger
    // then shows how many ran at once.
    let tasks: Vec<String> = (0..24)
        .map(|i| {
            format!(
                r#"{{"id":"d{i:02}","description":"deploy","requires":["deploy"],"command":"echo + >> ledger && sleep 0.05 && echo - >> ledger"}}"#
            )
        })
        .chain((0..24).map(|i| format!(r#"{{"id":"o{i:02}","description":"other","command":"true"}}"#)))
        .collect();
    p.queue(&format!("[{}]", tasks.join(",")));
    let mut workers = labelled_workers(&p, 6, "deploy", &[]);
    assert!(p.wait(BOUND, || p.count("completed") == 48));
    stop_all(&mut workers);
    let ledger = std::fs::read_to_string(p.path().join("ledger")).unwrap();
    let most = most_at_once(&ledger);
    assert!(most <= 2, "{most} deploys ran at once, the limit is 2");
    assert_eq!(most, 2, "six workers on 24 deploys reach the limit");
}

#[test]
fn a_waiting_task_counts_towards_its_label_s_limit() {
    let p = Project::new();
    assert!(p.coord(&["config", "limit.gpu", "1"]).status.success());
    p.queue(r#"[{"id":"g1","description":"x","requires":["gpu"]},{"id":"g2","description":"y","requires":["gpu"]}]"#);
    let v = json_of(&p, &["next", "--worker", "a", "--labels", "gpu", "--json"]);
    assert_eq!(v["taskId"], "g1");
    assert_eq!(
        p.coord(&["next", "--worker", "b", "--labels", "gpu"])
            .status
            .code(),
        Some(10)
    );
    assert!(
        p.coord(&["ask", "g1", "--worker", "a", "which card?"])
            .status
            .success()
    );
    assert_eq!(
        p.coord(&["next", "--worker", "b", "--labels", "gpu"])
            .status
            .code(),
        Some(10)
    );
    assert!(p.coord(&["answer", "g1", "the second"]).status.success());
    assert!(
        p.coord(&["complete", "g1", "--worker", "a"])
            .status
            .success()
    );
    let v = json_of(&p, &["next", "--worker", "b", "--labels", "gpu", "--json"]);
    assert_eq!(v["taskId"], "g2");
    let out = p.coord(&["config", "limit.gpu", "0"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(p.coord(&["config", "limit.gpu", "none"]).status.success());
    assert!(json_of(&p, &["config", "--json"])["labelLimits"].is_null());
}

#[test]
fn a_limit_and_review_set_while_workers_run_apply_to_their_next_claims() {
    let p = Project::new();
    let mut workers = labelled_workers(&p, 3, "deploy", &[]);
    // Every worker has opened the workspace (and read its settings) before they change.
    assert!(p.wait(BOUND, || {
        p.status()["workers"]
            .as_array()
            .is_some_and(|w| w.iter().filter(|w| w["state"] == "idle").count() == 3)
    }));
    assert!(p.coord(&["config", "limit.deploy", "1"]).status.success());
    assert!(p.coord(&["config", "review", "true"]).status.success());
    let tasks: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"id":"d{i:02}","description":"deploy","requires":["deploy"],"review":false,"command":"echo + >> ledger && sleep 0.05 && echo - >> ledger"}}"#
            )
        })
        .chain(std::iter::once(
            r#"{"id":"checked","description":"x","command":"true"}"#.to_string(),
        ))
        .collect();
    p.queue(&format!("[{}]", tasks.join(",")));
    assert!(p.wait(BOUND, || p.count("completed") == 12
        && p.count("review") == 1));
    stop_all(&mut workers);
    assert_eq!(
        p.files("review"),
        ["checked.json"],
        "review, set after start, applies"
    );
    let ledger = std::fs::read_to_string(p.path().join("ledger")).unwrap();
    let most = most_at_once(&ledger);
    assert_eq!(
        most, 1,
        "{most} deploys ran at once; the limit set meanwhile is 1"
    );
}

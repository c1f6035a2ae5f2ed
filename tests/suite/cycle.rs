//! The field report's scenario: three file-summary tasks, queued once, done with no manual step.

use super::support::*;

#[test]
fn three_fixture_tasks_complete_with_zero_manual_steps() {
    let p = Project::new();
    p.with_fixtures();
    let out = p.coord(&["queue", "fixtures/tasks.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().count(),
        4,
        "one line per task, then the total: {}",
        stdout(&out)
    );
    assert!(stdout(&out).ends_with("3 task(s): 3 queued, 0 blocked, 0 unchanged\n"));

    let out = p.coord(&[
        "worker",
        "--id",
        "worker-A",
        "--exec",
        "sh fixtures/summarize.sh",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 completed"), "{}", stdout(&out));

    assert_eq!(
        p.files("completed"),
        ["task-001.json", "task-002.json", "task-003.json"]
    );
    assert_eq!(p.count("pending"), 0);
    for (id, summary) in [
        ("task-001", "summaries/maildir-summary.md"),
        ("task-002", "summaries/inotify-summary.md"),
        ("task-003", "summaries/leases-summary.md"),
    ] {
        let r = p.report(id);
        assert_eq!(r["taskId"], id);
        assert_eq!(r["workerId"], "worker-A");
        assert_eq!(r["status"], "completed");
        assert_eq!(r["attempt"], 1);
        assert_eq!(r["exitCode"], 0);
        assert_eq!(r["deliverables"], serde_json::json!([summary]));
        assert_eq!(r["missing"], serde_json::json!([]));
        for key in ["startedAt", "completedAt", "durationMs", "log"] {
            assert!(!r[key].is_null(), "{key} missing in {r}");
        }
        let words = r["result"]["wordCount"].as_u64().unwrap();
        assert!((100..=200).contains(&words), "{id}: {words} words");
        assert_eq!(r["result"]["contextEfficiencyScore"], 5);
        let text = std::fs::read_to_string(p.path().join(summary)).unwrap();
        assert!(text.starts_with("# Summary: "), "{text}");
        assert!(std::path::Path::new(r["log"].as_str().unwrap()).is_file());
    }
    let log = std::fs::read_to_string(p.root().join("logs/worker-A.log")).unwrap();
    for needle in [
        "registered",
        "TASK ASSIGNED task-001",
        "running task-002",
        "completed task-003",
        "shutdown",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    let first = log.lines().next().unwrap();
    assert!(
        first.len() > 24 && first.as_bytes()[10] == b'T' && first[..24].ends_with('Z'),
        "log lines start with an RFC 3339 UTC millisecond timestamp: {first}"
    );
}

#[test]
fn demo_runs_the_scenario_end_to_end() {
    let p = Project::bare();
    let dir = p.path().join("demo");
    let out = p.coord(&["demo", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("completed 3"), "{text}");
    assert_eq!(
        std::fs::read_dir(dir.join(".coord/completed"))
            .unwrap()
            .count(),
        3
    );
    assert!(dir.join("summaries/leases-summary.md").is_file());
}

//! `coord doctor`: finds what a crash or a hand edit left, and repairs it.

use super::support::*;

#[test]
fn doctor_finds_and_fixes_duplicates_lost_reports_and_leftovers() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x","command":"true"},{"id":"b","description":"x","command":"true"}]"#);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success());
    let out = p.coord(&["doctor"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("consistent"));

    // A copy of completed task a put back in pending/, b's report lost, a stray temp file.
    let order = "2147483647-0000000000000001-000000";
    std::fs::copy(
        p.root().join("completed/a.json"),
        p.root().join(format!("pending/{order}.a.json")),
    )
    .unwrap();
    std::fs::remove_file(p.root().join("reports/b.json")).unwrap();
    let host = tmp_host();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(
        p.root()
            .join(format!("tmp/{}.{pid}.1.00000000.task.tmp", host.trim())),
        "half",
    )
    .unwrap();

    let out = p.coord(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["consistent"], false);
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["leftover", "duplicate", "missing-report"], "{v}");
    assert_eq!(p.count("pending"), 1, "without --fix nothing changes");

    let out = p.coord(&["doctor", "--fix"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(p.count("pending"), 0);
    assert!(
        p.root().join("failed/a.duplicate").exists(),
        "the extra copy is kept aside, not deleted"
    );
    assert_eq!(p.report("b")["status"], "completed");
    assert_eq!(p.count("tmp"), 0);
    let out = p.coord(&["fsck"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn doctor_tries_locks_and_renames_on_the_real_workspace() {
    let p = Project::new();
    let out = p.coord(&["doctor", "--json"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fs = &v["filesystem"];
    assert_eq!(fs["locksExclude"], true, "{v}");
    assert_eq!(fs["renameExclusive"], true, "{v}");
    assert_eq!(fs["shared"], false, "{v}");
    assert_eq!(p.count("tmp"), 0, "the trial files are gone");
    let out = p.coord(&["doctor"]);
    assert!(
        stdout(&out).contains("a second rename of a claimed name fails: yes"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.status()["sharedFilesystem"], false);
}

#[test]
fn a_task_dropped_into_pending_by_hand_beside_its_finished_copy_is_a_duplicate() {
    let p = Project::new();
    p.queue(r#"{"id":"x","description":"x","command":"true"}"#);
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    std::fs::copy(
        p.root().join("completed/x.json"),
        p.root().join("pending/x.json"),
    )
    .unwrap();
    assert_eq!(p.doctor_finds(), ["duplicate"]);
    assert!(p.coord(&["doctor", "--fix"]).status.success());
    assert!(p.files("pending").is_empty());
    assert_eq!(p.files("completed"), ["x.json"]);
    assert!(p.files("failed").contains(&"x.duplicate".to_string()));
    assert!(p.coord(&["doctor"]).status.success());
}

//! The review gate: work that passed its checks waits in review/ until approved; its dependents
//! start only then; a rejection sends it back with the reason, counting the attempt.

use std::time::Duration;

use super::support::*;

const BOUND: Duration = Duration::from_secs(20);

#[test]
fn work_under_review_keeps_its_dependents_blocked_until_it_is_approved() {
    let p = Project::new();
    p.queue(
        r#"[{"id":"draft","description":"write it","command":"echo text > draft.md","outputFiles":["draft.md"],"review":true},
            {"id":"publish","description":"publish it","command":"true","dependsOn":["draft"]}]"#,
    );
    let out = p.coord(&["worker", "--id", "w"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 waiting for review"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.files("review"), ["draft.json"]);
    assert_eq!(p.files("blocked"), ["publish.json"]);
    assert!(!p.root().join("reports/draft.json").exists());
    assert_eq!(p.status()["counts"]["review"], 1);
    let list = json_of(&p, &["review", "--json"]);
    assert_eq!(list["review"][0]["taskId"], "draft");
    assert_eq!(list["review"][0]["workerId"], "w");
    assert_eq!(list["review"][0]["deliverables"][0], "draft.md");
    let show = stdout(&p.coord(&["show", "draft"]));
    assert!(show.contains("report: waiting for review by w"), "{show}");
    // `wait` does not call work under review finished.
    let out = p.coord(&["wait", "draft", "--timeout", "0.2"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));

    let out = p.coord(&["approve", "draft", "--by", "carol", "--note", "reads well"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = p.report("draft");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["approvedBy"], "carol");
    assert!(r["approvedAt"].is_string());
    assert_eq!(r["reviewNote"], "reads well");
    assert_eq!(r["deliverables"][0], "draft.md");
    assert_eq!(p.files("blocked"), Vec::<String>::new());
    let out = p.coord(&["worker", "--id", "w"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("completed"), 2);
    let out = p.coord(&["approve", "draft"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("draft is completed, not in review"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_rejection_sends_the_work_back_with_its_reason_and_counts_the_attempt() {
    let p = Project::new();
    assert!(p.coord(&["config", "review", "true"]).status.success());
    p.queue(r#"{"id":"essay","description":"write it","maxAttempts":2}"#);
    let v = json_of(&p, &["next", "--worker", "a1", "--json"]);
    let out = p.coord(&[
        "complete",
        "essay",
        "--worker",
        "a1",
        "--token",
        v["token"].as_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("waits for review"),
        "{}",
        stdout(&out)
    );
    let out = p.coord(&[
        "reject",
        "essay",
        "--reason",
        "cite your sources",
        "--by",
        "dana",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_of(&p, &["next", "--worker", "a2", "--json"]);
    assert_eq!(v["taskId"], "essay");
    assert_eq!(v["attempt"], 2, "a rejection counts the attempt");
    assert_eq!(v["lastNote"]["text"], "rejected by dana: cite your sources");
    let show = json_of(&p, &["show", "essay", "--json"]);
    assert_eq!(show["history"][0]["outcome"], "rejected");
    assert_eq!(show["history"][0]["workerId"], "a1");
    assert_eq!(show["history"][0]["counted"], true);

    // The last attempt rejected: dead-lettered, with the reason in the report.
    let out = p.coord(&[
        "complete",
        "essay",
        "--worker",
        "a2",
        "--token",
        v["token"].as_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = p.coord(&[
        "reject",
        "essay",
        "--reason",
        "still no sources",
        "--by",
        "dana",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("moved to failed/"),
        "{}",
        stdout(&out)
    );
    let r = p.report("essay");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["reason"], "rejected by dana: still no sources");
    let out = p.coord(&["reject", "essay", "--reason", " "]);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn kill_9_inside_submit_approve_and_reject_leaves_one_state_and_a_rerun_finishes() {
    let start = |p: &Project| {
        p.queue(r#"{"id":"r","description":"x","review":true}"#);
        json_of(p, &["next", "--worker", "w", "--json"]);
    };
    for point in ["submitted:rewritten", "submitted:moved"] {
        let p = Project::new();
        start(&p);
        crash_at(&p, point, &["complete", "r", "--worker", "w"]);
        assert_consistent(&p);
        if p.files("assigned/w") == ["r.json"] {
            assert!(
                p.coord(&["complete", "r", "--worker", "w"])
                    .status
                    .success()
            );
        }
        assert_eq!(p.files("review"), ["r.json"], "{point}");
    }
    {
        // An approval rewrites nothing: its one step is the move.
        let point = "approved:moved";
        let p = Project::new();
        start(&p);
        assert!(
            p.coord(&["complete", "r", "--worker", "w"])
                .status
                .success()
        );
        crash_at(&p, point, &["approve", "r", "--by", "eve"]);
        assert_consistent(&p);
        assert_eq!(p.files("completed"), ["r.json"]);
        // The report the dead process left whole in tmp/ is published by the next sweep.
        assert!(p.coord(&["doctor", "--fix"]).status.success());
        assert_eq!(p.report("r")["approvedBy"], "eve");
        assert!(p.coord(&["doctor"]).status.success());
    }
    for point in ["rejected:rewritten", "rejected:moved"] {
        let p = Project::new();
        start(&p);
        assert!(
            p.coord(&["complete", "r", "--worker", "w"])
                .status
                .success()
        );
        crash_at(&p, point, &["reject", "r", "--reason", "redo"]);
        if p.files("review") == ["r.json"] {
            // Cut short after the rewrite: the doctor sees it and finishes it as written.
            assert_eq!(p.doctor_finds(), ["interrupted-rejection"], "{point}");
            let out = p.coord(&["approve", "r"]);
            assert_eq!(out.status.code(), Some(5), "{point}: {}", stderr(&out));
            assert!(p.coord(&["doctor", "--fix"]).status.success());
        }
        assert_consistent(&p);
        let v = json_of(&p, &["next", "--worker", "w2", "--json"]);
        assert!(
            v["lastNote"]["text"].as_str().unwrap().contains("redo"),
            "{point}: the reason is kept"
        );
        assert_consistent(&p);
    }
}

#[test]
fn approving_and_cancelling_at_once_leave_one_outcome() {
    let p = Project::new();
    let tasks: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"id":"t{i:02}","description":"x","review":true}}"#))
        .collect();
    p.queue(&format!("[{}]", tasks.join(",")));
    let out = p.coord(&["worker", "--id", "w", "--exec", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("review"), 40);
    let ids: Vec<String> = (0..40).map(|i| format!("t{i:02}")).collect();
    let mut approve = p.command(&["approve"]);
    approve.args(&ids);
    let mut approver = approve
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for id in ids.iter().rev() {
        assert_raced(&p.coord(&["cancel", id]), "cancel");
    }
    let approved = approver.wait().unwrap();
    assert!(
        matches!(approved.code(), Some(0 | 5)),
        "approve racing cancels exited {approved:?}"
    );
    assert!(p.wait(BOUND, || p.count("review") == 0));
    assert_eq!(p.count("completed") + p.count("failed"), 40);
    for id in &ids {
        let status = p.report(id)["status"].as_str().unwrap().to_string();
        let folder = if p
            .root()
            .join("completed")
            .join(format!("{id}.json"))
            .exists()
        {
            "completed"
        } else {
            "cancelled"
        };
        assert_eq!(status, folder, "{id}: its report says what happened to it");
    }
    assert_consistent(&p);
}

//! Big batches: published in batch folders of pending/, claimed in claim order across folders
//! and loose files, read by every command, and removed once emptied.

use std::time::Duration;

use super::support::*;

fn batch(count: usize, prefix: &str) -> String {
    (0..count)
        .map(|i| {
            serde_json::json!({"id": format!("{prefix}{i:05}"), "description": "one of many"})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Queues `count` tasks that run `true`, in one call (so in batch folders).
fn queue_runnable(p: &Project, count: usize, prefix: &str) {
    let tasks = batch(count, prefix).replace(
        "\"description\":\"one of many\"",
        "\"description\":\"one of many\",\"command\":\"true\"",
    );
    p.write("many.jsonl", &tasks);
    assert!(p.coord(&["queue", "many.jsonl"]).status.success());
}

fn folders(p: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(p.root().join("pending"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn claim(p: &Project, worker: &str) -> String {
    let out = p.coord(&["next", "--worker", worker, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["taskId"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_big_batch_lands_in_folders_and_keeps_claim_order_with_other_tasks() {
    let p = Project::new();
    p.write("many.jsonl", &batch(2500, "b"));
    let out = p.coord(&["queue", "many.jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("2500 task(s): 2500 queued, 0 blocked, 0 unchanged\n"));
    // 1024 + 1024 + 452 files, each folder named after its first task's order.
    let dirs = folders(&p);
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    assert_eq!(p.count("pending"), 2500);
    for d in &dirs {
        let first = p
            .files("pending")
            .into_iter()
            .filter(|f| f.starts_with(&format!("{d}/")))
            .min()
            .unwrap();
        assert!(first[d.len() + 1..].starts_with(&d[..34]), "{d} {first}");
    }
    // A small queue call later, at a higher priority, goes first; one at the same priority
    // after the batch.
    p.queue(r#"[{"id": "urgent", "description": "x", "priority": 5}]"#);
    p.queue(r#"[{"id": "later", "description": "x"}]"#);
    assert_eq!(claim(&p, "a"), "urgent");
    assert_eq!(claim(&p, "b"), "b00000");
    assert_eq!(claim(&p, "c"), "b00001");
    // A task released from a folder goes back to the top of pending/ under its own order,
    // and is claimed again before the rest of its batch.
    let out = p.coord(&["release", "b00001", "--worker", "c"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        p.files("pending")
            .iter()
            .any(|f| f.ends_with(".b00001.json") && !f.contains('/'))
    );
    assert_eq!(claim(&p, "d"), "b00001");
    assert_eq!(claim(&p, "e"), "b00002");
    // Every reader sees the tasks inside folders.
    let status = json_of(&p, &["status", "--json"]);
    assert_eq!(status["counts"]["pending"], 2500 + 2 - 4);
    let out = p.coord(&["list", "--state", "pending", "-n", "3"]);
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().skip(1).take(3).collect();
    assert!(
        rows[0].starts_with("b00003 ") && rows[2].starts_with("b00005 "),
        "{text}"
    );
    assert!(text.contains("… and 2495 more"), "{text}");
    let show = p.coord(&["show", "b02400"]);
    assert!(stdout(&show).contains("pending"), "{}", stdout(&show));
    // Operator verbs find a task inside a folder.
    let out = p.coord(&["cancel", "b02400"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.files("failed").contains(&"b02400.json".to_string()));
    assert!(p.coord(&["doctor"]).status.success());
    // Queuing the same file again changes nothing; one changed task is a conflict.
    let out = p.coord(&["queue", "many.jsonl"]);
    assert!(stdout(&out).contains("0 queued"), "{}", stdout(&out));
    p.write(
        "changed.jsonl",
        &batch(2500, "b").replace(
            "b00007\",\"description\":\"one of many",
            "b00007\",\"description\":\"other",
        ),
    );
    let out = p.coord(&["queue", "changed.jsonl"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("b00007"), "{}", stderr(&out));
}

#[test]
fn workers_drain_folders_and_remove_them_once_empty() {
    let p = Project::new();
    queue_runnable(&p, 1500, "d");
    assert_eq!(folders(&p).len(), 2);
    let workers: Vec<_> = ["w1", "w2"]
        .iter()
        .map(|w| p.spawn(&["worker", "--id", w, "--quiet", "--exec", "true"]))
        .collect();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(p.count("completed"), 1500);
    assert_eq!(p.count("pending"), 0);
    assert!(
        folders(&p).is_empty(),
        "emptied folders are removed: {:?}",
        folders(&p)
    );
    assert!(p.coord(&["doctor"]).status.success());
}

#[test]
fn a_folder_planted_in_pending_is_never_read_as_a_batch() {
    let p = Project::new();
    p.queue(r#"[{"id": "real", "description": "x"}]"#);
    // A symlink with a batch folder's name, pointing at a folder of task files, and a folder
    // with another name: neither is claimed from.
    let elsewhere = p.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let order = "2147483647-0000000000000001-000000";
    std::fs::write(
        elsewhere.join(format!("{order}.planted.json")),
        r#"{"id": "planted", "description": "x"}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink(
        &elsewhere,
        p.root()
            .join("pending")
            .join(format!("{order}.batch-00000000000000ff")),
    )
    .unwrap();
    std::fs::create_dir(p.root().join("pending").join("notabatch")).unwrap();
    assert_eq!(claim(&p, "a"), "real");
    assert_eq!(claim(&p, "b"), "");
    let status = json_of(&p, &["status", "--json"]);
    assert_eq!(status["counts"]["pending"], 0);
}

#[test]
fn operator_verbs_race_workers_claiming_from_folders() {
    // Two watching workers drain 1,500 tasks from batch folders while an operator cancels
    // tasks inside the folders and runs `doctor --fix` and `purge` in a loop: every task ends
    // in exactly one state, doctor finds nothing, and the emptied folders are gone.
    let p = Project::new();
    queue_runnable(&p, 1500, "o");
    assert_eq!(folders(&p).len(), 2);
    let workers: Vec<_> = ["w1", "w2"]
        .iter()
        .map(|w| p.spawn(&["worker", "--id", w, "--watch", "--quiet"]))
        .collect();
    let mut cancelled = 0;
    for i in (0..1500).rev().step_by(15) {
        let out = p.coord(&["cancel", &format!("o{i:05}")]);
        // A task a worker finished first cannot be cancelled: exit 5, and it stays completed.
        match out.status.code() {
            Some(0) => cancelled += 1,
            Some(5) => {}
            other => panic!("cancel exited {other:?}: {}", stderr(&out)),
        }
        if i % 150 == 0 {
            assert!(p.coord(&["doctor", "--fix"]).status.success());
            let out = p.coord(&["purge", "--failed", "--older-than", "1h"]);
            assert!(out.status.success(), "{}", stderr(&out));
        }
    }
    assert!(
        p.wait(Duration::from_secs(60), || p.count("pending") == 0
            && std::fs::read_dir(p.root().join("assigned/w1"))
                .map_or(0, |d| d.count())
                == 0
            && std::fs::read_dir(p.root().join("assigned/w2"))
                .map_or(0, |d| d.count())
                == 0),
        "the workers drained the folders"
    );
    for w in &workers {
        signal(w, "TERM");
    }
    for w in workers {
        assert!(w.wait_with_output().unwrap().status.success());
    }
    let seen = states(&p);
    assert_eq!(seen.len(), 1500);
    for (id, places) in &seen {
        assert_eq!(places.len(), 1, "{id} is in {places:?}");
    }
    assert!(cancelled > 0, "some cancels reached tasks still in folders");
    assert_eq!(p.count("failed"), cancelled);
    assert_eq!(p.count("completed"), 1500 - cancelled);
    assert!(folders(&p).is_empty(), "{:?}", folders(&p));
    assert!(p.coord(&["doctor"]).status.success());
}

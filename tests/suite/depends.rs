//! `dependsOn`: a task waits in blocked/ until the tasks it names complete, and the process that
//! completes the last of them moves it on, with no coordinator and no polling.

use std::time::Duration;

use super::support::*;

fn ledger(p: &Project) -> Vec<String> {
    std::fs::read_to_string(p.path().join("order.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_task_runs_only_after_every_task_it_depends_on_completed() {
    let p = Project::new();
    let out = p.queue(
        r#"[
        {"id":"overview","description":"x","dependsOn":["ch1","ch2"],"priority":9,"command":"echo overview >> order.txt"},
        {"id":"ch1","description":"x","command":"echo ch1 >> order.txt"},
        {"id":"ch2","description":"x","dependsOn":["ch1"],"command":"echo ch2 >> order.txt"}
    ]"#,
    );
    assert!(
        stdout(&out).contains("blocked    overview"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.count("blocked"), 2);
    assert_eq!(p.count("pending"), 1);
    assert_eq!(p.status()["counts"]["blocked"], 2);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ledger(&p), ["ch1", "ch2", "overview"]);
    assert_eq!(p.count("completed"), 3);
    assert_eq!(p.count("blocked"), 0);
}

#[test]
fn completing_a_dependency_from_another_process_unblocks_at_once() {
    let p = Project::new();
    p.queue(r#"[{"id":"draft","description":"by an agent"},{"id":"review","description":"x","dependsOn":["draft"]}]"#);
    let out = p.coord(&["next", "--worker", "agent"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("pending"), 0, "review waits in blocked/");
    let out = p.coord(&["complete", "draft", "--worker", "agent"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // No worker runs: the `coord complete` process itself moved review on.
    assert_eq!(p.count("blocked"), 0);
    assert_eq!(p.count("pending"), 1);
    let out = p.coord(&["next", "--worker", "agent"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["taskId"], "review");
}

#[test]
fn a_watching_worker_takes_an_unblocked_task_on_the_event() {
    let p = Project::new();
    p.queue(r#"[{"id":"first","description":"by an agent"},{"id":"then","description":"x","dependsOn":["first"],"command":"touch then-ran"}]"#);
    assert!(p.coord(&["next", "--worker", "agent"]).status.success());
    let mut worker = p.spawn(&["worker", "--id", "runner", "--watch", "--rescan", "3600"]);
    let mut lines = Lines::of(&mut worker);
    lines.expect("waiting for work");
    assert!(
        p.coord(&["complete", "first", "--worker", "agent"])
            .status
            .success()
    );
    lines.expect("completed then");
    assert!(p.path().join("then-ran").exists());
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
}

#[test]
fn when_a_dependency_fails_its_dependents_fail_naming_it() {
    let p = Project::new();
    p.queue(
        r#"[
        {"id":"base","description":"x","command":"false","maxAttempts":1},
        {"id":"mid","description":"x","dependsOn":["base"],"command":"true"},
        {"id":"top","description":"x","dependsOn":["mid"],"command":"true"},
        {"id":"free","description":"x","command":"true"}
    ]"#,
    );
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["free.json"]);
    assert_eq!(p.files("failed"), ["base.json", "mid.json", "top.json"]);
    let mid = p.report("mid");
    assert_eq!(mid["status"], "failed");
    assert!(
        mid["reason"]
            .as_str()
            .unwrap()
            .contains("dependency base did not complete"),
        "{mid}"
    );
    assert!(
        p.report("top")["reason"]
            .as_str()
            .unwrap()
            .contains("dependency mid")
    );
    // Queueing a new dependent of a dead-lettered task is refused.
    let file = p.write(
        "late.json",
        r#"{"id":"late","description":"x","dependsOn":["base"]}"#,
    );
    let out = p.coord(&["queue", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("coord retry base"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cycles_unknown_ids_and_self_dependencies_are_refused_at_queue_time() {
    let p = Project::new();
    let file = p.write(
        "bad.json",
        r#"[
        {"id":"a","description":"x","dependsOn":["b"]},
        {"id":"b","description":"x","dependsOn":["c"]},
        {"id":"c","description":"x","dependsOn":["a"]},
        {"id":"d","description":"x","dependsOn":["nowhere"]},
        {"id":"e","description":"x","dependsOn":["e"]}
    ]"#,
    );
    let out = p.coord(&["queue", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    for needle in [
        "task 1 (a): `dependsOn` makes a cycle: a -> b -> c -> a",
        "task 2 (b): `dependsOn` makes a cycle",
        "task 3 (c): `dependsOn` makes a cycle",
        "task 4 (d): `dependsOn`: no task nowhere",
        "task 5 (e): `dependsOn` makes a cycle: e -> e",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(p.count("pending") + p.count("blocked"), 0);
}

#[test]
fn a_dependency_already_completed_lets_a_new_task_go_straight_to_pending() {
    let p = Project::new();
    p.queue(r#"{"id":"done","description":"x","command":"true"}"#);
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    let out = p.queue(r#"{"id":"after","description":"x","dependsOn":["done"],"command":"true"}"#);
    assert!(
        stdout(&out).contains("queued     after"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.count("pending"), 1);
}

#[test]
fn concurrent_workers_respect_every_dependency_of_a_wide_graph() {
    let p = Project::new();
    // 4 layers of 12 tasks; every task depends on 3 tasks of the layer below.
    let mut tasks = Vec::new();
    for layer in 0..4 {
        for i in 0..12 {
            let deps: Vec<String> = if layer == 0 {
                Vec::new()
            } else {
                (0..3)
                    .map(|k| format!("l{}-{}", layer - 1, (i + k * 4) % 12))
                    .collect()
            };
            tasks.push(serde_json::json!({
                "id": format!("l{layer}-{i}"),
                "description": "graph",
                "dependsOn": deps,
                "command": "echo \"$COORD_TASK_ID\" >> order.txt",
            }));
        }
    }
    p.queue(&serde_json::to_string(&tasks).unwrap());
    let mut workers: Vec<_> = (0..4)
        .map(|i| p.spawn(&["worker", "--id", &format!("g{i}"), "--watch", "--quiet"]))
        .collect();
    assert!(p.wait(Duration::from_secs(30), || p.count("completed") == 48));
    for w in &workers {
        signal(w, "TERM");
    }
    for w in &mut workers {
        assert!(w.wait().unwrap().success());
    }
    let order = ledger(&p);
    assert_eq!(order.len(), 48, "each ran once");
    let at = |id: &str| order.iter().position(|o| o == id).unwrap();
    for t in &tasks {
        for dep in t["dependsOn"].as_array().unwrap() {
            let (id, dep) = (t["id"].as_str().unwrap(), dep.as_str().unwrap());
            assert!(at(dep) < at(id), "{id} ran before its dependency {dep}");
        }
    }
}

#[test]
fn a_blocked_task_left_behind_by_a_crash_is_found_and_moved_on() {
    let p = Project::new();
    p.queue(r#"{"id":"dep","description":"x","command":"true"}"#);
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    // As if `coord queue` had stopped between publishing into blocked/ and its re-check.
    std::fs::write(
        p.root().join("blocked/orphan.json"),
        r#"{"id":"orphan","description":"x","dependsOn":["dep"],"command":"true","coord":{"order":"2147483647-0000000000000001-000000","queuedAt":"2026-11-25T00:00:00Z"}}"#,
    )
    .unwrap();
    assert_eq!(p.doctor_finds(), ["blocked"]);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["dep.json", "orphan.json"]);
    assert!(p.coord(&["doctor"]).status.success());
}

#[test]
fn purging_a_completed_dependency_does_not_strand_its_pending_dependent() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x","command":"true"},{"id":"b","description":"x","dependsOn":["a"],"command":"true"}]"#);
    let out = p.coord(&["worker", "--id", "w", "--quiet", "--max-tasks", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["a.json"]);
    assert_eq!(p.count("pending"), 1, "b was unblocked");
    let out = p.coord(&["purge", "--completed", "--older-than", "0s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.files("completed").is_empty(), "a was purged");
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["b.json"]);
    assert!(p.files("blocked").is_empty());
}

#[test]
fn a_blocked_task_waiting_for_a_task_in_no_state_is_reported_and_wait_ends() {
    let p = Project::new();
    std::fs::write(
        p.root().join("blocked/stuck.json"),
        r#"{"id":"stuck","description":"x","dependsOn":["ghost"],"command":"true"}"#,
    )
    .unwrap();
    let out = p.coord(&["wait", "stuck", "--timeout", "60"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert_eq!(p.doctor_finds(), ["never-runs"]);
    let out = p.coord(&["doctor", "--fix"]);
    assert!(stdout(&out).contains("never-runs"), "{}", stdout(&out));
    assert_eq!(p.files("failed"), ["stuck.json"]);
    let report = p.report("stuck");
    assert!(
        report["reason"].as_str().unwrap().contains("ghost"),
        "{report}"
    );
    assert!(p.coord(&["doctor"]).status.success());
}

#[test]
fn a_long_dependency_chain_queues_and_runs_in_order() {
    let p = Project::in_memory();
    let chain = |n: usize| -> String {
        (0..n)
            .map(|i| {
                let deps = if i == 0 {
                    String::new()
                } else {
                    format!(",\"dependsOn\":[\"c{}\"]", i - 1)
                };
                format!("{{\"id\":\"c{i}\",\"description\":\"x\",\"command\":\"echo $COORD_TASK_ID >> ledger.txt\"{deps}}}\n")
            })
            .collect()
    };
    // Deep enough to overflow a recursive cycle check (40,000 did).
    let deep = p.write("deep.jsonl", &chain(45_000));
    let out = p.coord(&["queue", deep.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("pending"), 1);
    assert_eq!(p.files("blocked").len(), 44_999);
    let p = Project::new();
    p.queue(&format!("[{}]", chain(400).trim_end().replace('\n', ",")));
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("completed"), 400);
    let ledger = std::fs::read_to_string(p.path().join("ledger.txt")).unwrap();
    let order: Vec<String> = (0..400).map(|i| format!("c{i}")).collect();
    assert_eq!(ledger.lines().collect::<Vec<_>>(), order);
}

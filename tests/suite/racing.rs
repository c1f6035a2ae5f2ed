//! Operator verbs racing each other and live workers: `retry`, `cancel`, `purge` and
//! `doctor --fix` take the locks the movers take and re-check the task's state under them, so
//! no task is lost, duplicated or given a false report.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::support::*;

fn failing_tasks(n: usize) -> String {
    let tasks: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("r{i:03}"),
                "description": "always fails",
                "command": "false",
                "maxAttempts": 1,
            })
        })
        .collect();
    serde_json::to_string(&tasks).unwrap()
}

/// Every id is in exactly one state folder.
fn assert_single(p: &Project) -> HashMap<String, Vec<String>> {
    let seen = states(p);
    for (id, places) in &seen {
        assert_eq!(places.len(), 1, "{id} is in {places:?}");
    }
    seen
}

#[test]
fn two_retries_at_once_move_a_task_once() {
    let p = Project::new();
    p.queue(&failing_tasks(40));
    // A task ran out of attempts: the drain exits 12.
    assert_eq!(
        p.coord(&["worker", "--id", "w", "--quiet"]).status.code(),
        Some(12)
    );
    assert_eq!(p.count("failed"), 40);
    for i in 0..40 {
        let id = format!("r{i:03}");
        let mut first = p.command(&["retry", &id]).spawn().unwrap();
        let mut second = p.command(&["retry", &id]).spawn().unwrap();
        let codes = [first.wait().unwrap().code(), second.wait().unwrap().code()];
        let mut sorted = codes;
        sorted.sort();
        assert_eq!(
            sorted,
            [Some(0), Some(5)],
            "{id}: one retry moves it, the other finds it pending"
        );
    }
    let seen = assert_single(&p);
    assert!(seen.values().all(|v| v == &["pending"]), "{seen:?}");
    assert!(p.coord(&["doctor"]).status.success());
}

#[test]
fn operators_beside_live_workers_and_an_agent_lose_nothing_and_replace_no_report() {
    const TASKS: usize = 240;
    let p = Project::new();
    let tasks: Vec<serde_json::Value> = (0..TASKS)
        .map(|i| {
            let command = if i % 2 == 0 { "true" } else { "false" };
            serde_json::json!({
                "id": format!("o{i:03}"),
                "description": "raced by operators",
                "command": command,
                "maxAttempts": 3,
                "retryBackoffSecs": 0,
            })
        })
        .collect();
    p.queue(&serde_json::to_string(&tasks).unwrap());
    let mut workers: Vec<_> = (0..4)
        .map(|i| p.spawn(&["worker", "--id", &format!("w{i}"), "--watch", "--quiet"]))
        .collect();
    let done = AtomicBool::new(false);
    let mut rng = Rng::seeded();
    let picks: Vec<usize> = (0..400).map(|_| rng.below(TASKS)).collect();
    std::thread::scope(|s| {
        // doctor --fix, over and over, until the operator below is done and the queue settled.
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let out = p.coord(&["doctor", "--fix", "--json"]);
                let text = stdout(&out);
                assert!(
                    !text.contains("\"duplicate\"") && !text.contains("missing-report"),
                    "doctor acted on a live state: {text}"
                );
            }
        });
        // An agent taking tasks with `next` and finishing them with `complete` meanwhile.
        s.spawn(|| agent_until(&p, &done));
        // retry, cancel and purge, on random tasks.
        let operator = s.spawn(|| {
            for (n, i) in picks.iter().enumerate() {
                let id = format!("o{i:03}");
                let verb = ["retry", "cancel", "retry"][n % 3];
                let code = p.coord(&[verb, &id]).status.code();
                assert!(
                    matches!(code, Some(0) | Some(5) | Some(7)),
                    "{verb} {id} exited {code:?}"
                );
                if n % 50 == 49 {
                    let out = p.coord(&["purge", "--completed", "--older-than", "0s"]);
                    assert!(out.status.success(), "{}", stderr(&out));
                }
            }
        });
        let operator = operator.join();
        let settled = p.wait(Duration::from_secs(120), || {
            p.count("pending") == 0
                && p.files("assigned/agent").is_empty()
                && (0..4).all(|i| p.count(&format!("assigned/w{i}")) == 0)
        });
        done.store(true, Ordering::Relaxed);
        assert!(operator.is_ok(), "the operator's checks failed");
        assert!(settled, "tasks left: pending {}", p.count("pending"));
    });
    for w in &mut workers {
        signal(w, "TERM");
        w.wait().unwrap();
    }
    let seen = assert_single(&p);
    let failed: Vec<String> = p.files("failed");
    assert!(
        failed
            .iter()
            .all(|f| f.ends_with(".json") && !f.contains(".duplicate")),
        "{failed:?}"
    );
    for (id, places) in &seen {
        let report = p.report(id);
        let expected = if places[0] == "completed" {
            "completed"
        } else {
            report["status"].as_str().unwrap()
        };
        assert_eq!(report["status"], expected, "{id}");
        assert!(
            !report["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("lost in a crash"),
            "{id}: a real report was replaced: {report}"
        );
    }
    // Purged tasks left neither a report nor a log behind.
    for name in p.files("reports") {
        let id = name.trim_end_matches(".json");
        assert!(seen.contains_key(id), "report {name} has no task");
    }
    let out = p.coord(&["doctor"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn a_claim_taken_back_records_no_claimed_event() {
    let p = Project::new();
    p.queue(r#"[{"id":"one","description":"x","targetFiles":["shared.md"]},{"id":"two","description":"x","targetFiles":["shared.md"]}]"#);
    assert!(p.coord(&["next", "--worker", "a"]).status.success());
    // b claims `two`, finds `shared.md` held by a, and puts it back.
    let out = p.coord(&["next", "--worker", "b"]);
    assert_eq!(out.status.code(), Some(10), "{}", stdout(&out));
    assert_eq!(p.count("pending"), 1);
    let out = p.coord(&["events", "--json"]);
    let claimed: Vec<(String, String)> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "claimed")
        .map(|e| {
            (
                e["taskId"].as_str().unwrap().to_string(),
                e["workerId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(claimed, [("one".to_string(), "a".to_string())]);
}

/// Questions and the review gate beside live workers, an asking agent, a reviewer and an
/// operator (`doctor --fix`, `cancel`, `retry`, `purge`) all at once: every task ends in one
/// state with its report, and nothing is set aside as a duplicate.
#[test]
fn questions_and_reviews_beside_live_workers_and_operators_lose_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let p = Project::new();
    let tasks: Vec<String> = (0..30)
        .map(|i| format!(r#"{{"id":"r{i:02}","description":"x","command":"true","review":true}}"#))
        .chain((0..30).map(|i| format!(r#"{{"id":"q{i:02}","description":"x"}}"#)))
        .collect();
    p.queue(&format!("[{}]", tasks.join(",")));
    let mut workers: Vec<_> = (0..2)
        .map(|i| watching_worker(&p, &format!("w{i}")))
        .collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        // The agent asks about every task it takes, then completes it once answered.
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let out = p.coord(&["next", "--worker", "asker", "--json", "--wait=1"]);
                if out.status.code() != Some(0) {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let id = v["taskId"].as_str().unwrap();
                match v["answer"].is_null() {
                    true => {
                        let code = p
                            .coord(&["ask", id, "--worker", "asker", "which?"])
                            .status
                            .code();
                        assert!(matches!(code, Some(0) | Some(5)), "ask {id}: {code:?}");
                    }
                    false => {
                        let code = p
                            .coord(&["complete", id, "--worker", "asker"])
                            .status
                            .code();
                        assert!(matches!(code, Some(0) | Some(5)), "complete {id}: {code:?}");
                    }
                }
            }
        });
        // A person answers questions and reviews work.
        s.spawn(|| {
            let mut turn = 0usize;
            while !done.load(Ordering::Relaxed) {
                turn += 1;
                let qs = json_of(&p, &["questions", "--json"]);
                for q in qs["questions"].as_array().unwrap() {
                    let out = p.coord(&["answer", q["taskId"].as_str().unwrap(), "this one"]);
                    assert_raced(&out, "answer");
                }
                let rs = json_of(&p, &["review", "--json"]);
                for r in rs["review"].as_array().unwrap() {
                    let id = r["taskId"].as_str().unwrap();
                    let out = match turn % 3 {
                        0 => p.coord(&["reject", id, "--reason", "again"]),
                        _ => p.coord(&["approve", id]),
                    };
                    assert_raced(&out, "approve or reject");
                }
            }
        });
        // An operator repairs, cancels, retries and purges meanwhile.
        s.spawn(|| {
            let mut rng = Rng::seeded();
            while !done.load(Ordering::Relaxed) {
                let id = match rng.below(2) {
                    0 => format!("r{:02}", rng.below(30)),
                    _ => format!("q{:02}", rng.below(30)),
                };
                assert_raced(&p.coord(&["cancel", &id]), "cancel");
                assert_raced(&p.coord(&["retry", &id]), "retry");
                let out = p.coord(&["doctor", "--fix", "--json"]);
                let v: serde_json::Value =
                    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                        panic!("doctor --fix printed no JSON ({e}): {}", stderr(&out))
                    });
                for f in v["findings"].as_array().unwrap() {
                    assert_ne!(f["kind"], "duplicate", "doctor --fix beside live work: {v}");
                }
                let out = p.coord(&["purge", "--completed", "--older-than", "0s"]);
                assert!(out.status.success(), "purge: {}", stderr(&out));
            }
        });
        let all_done = p.wait(Duration::from_secs(120), || {
            p.count("pending") + p.count("waiting") + p.count("review") + p.count("blocked") == 0
                && states(&p).keys().all(|id| {
                    !p.root()
                        .join("assigned/asker")
                        .join(format!("{id}.json"))
                        .exists()
                })
        });
        done.store(true, Ordering::Relaxed);
        assert!(all_done, "the work did not settle: {:?}", states(&p));
    });
    for w in &workers {
        signal(w, "TERM");
    }
    for w in &mut workers {
        assert!(w.wait().unwrap().success());
    }
    assert_consistent(&p);
    assert!(p.files("failed").iter().all(|n| !n.contains(".duplicate")));
    for name in p.files("failed") {
        let id = name.trim_end_matches(".json");
        assert!(
            p.root().join("reports").join(&name).exists(),
            "{id} failed without a report"
        );
    }
}

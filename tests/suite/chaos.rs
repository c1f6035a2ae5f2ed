//! Workers killed with SIGKILL while they run tasks: nothing is lost, nothing completes twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::support::*;

/// A small deterministic generator, seeded from the clock; the seed is printed so a failing run
/// can be replayed with `COORD_TEST_SEED`.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("COORD_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("COORD_TEST_SEED={seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Every id's state folders: an id must be in exactly one of pending, assigned/*, completed, failed.
fn states(p: &Project) -> HashMap<String, Vec<String>> {
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let mut folders = vec!["pending".to_string(), "completed".into(), "failed".into()];
    for w in std::fs::read_dir(p.root().join("assigned")).unwrap() {
        let w = w.unwrap();
        folders.push(format!("assigned/{}", w.file_name().to_string_lossy()));
    }
    for folder in folders {
        for name in p.files(&folder) {
            let id = name
                .trim_end_matches(".json")
                .rsplit('.')
                .next()
                .unwrap()
                .to_string();
            seen.entry(id).or_default().push(folder.clone());
        }
    }
    seen
}

#[test]
fn killing_random_workers_loses_no_task_and_completes_each_once() {
    const TASKS: usize = 1000;
    const WORKERS: usize = 4;
    let mut rng = Rng::seeded();
    let p = Project::new();
    let tasks: Vec<serde_json::Value> = (0..TASKS)
        .map(|i| {
            serde_json::json!({
                "id": format!("c{i:04}"),
                "description": "chaos",
                "command": "echo \"$COORD_TASK_ID $COORD_ATTEMPT $COORD_WORKER_ID\" >> ledger.txt; sleep 0.01",
                "maxAttempts": 50,
            })
        })
        .collect();
    p.queue(&serde_json::to_string(&tasks).unwrap());
    let start = |i: usize| {
        p.spawn(&[
            "worker",
            "--id",
            &format!("k{i}"),
            "--watch",
            "--quiet",
            "--rescan",
            "1",
        ])
    };
    let mut workers: Vec<_> = (0..WORKERS).map(start).collect();
    let finished = || p.count("completed") + p.count("failed");
    let mut kills = 0;
    // Kill a random worker each time a random 5 to 40 more tasks have finished (a few hundred
    // milliseconds of work here), and start a new one with the same id in its place.
    while finished() < TASKS && kills < 100 {
        let target = (finished() + 5 + rng.below(36)).min(TASKS);
        assert!(
            wait_until(Duration::from_secs(60), || finished() >= target),
            "progress stalled at {}",
            finished()
        );
        if finished() >= TASKS {
            break;
        }
        let i = rng.below(WORKERS);
        workers[i].kill().unwrap();
        workers[i].wait().unwrap();
        workers[i] = start(i);
        kills += 1;
    }
    assert!(
        wait_until(Duration::from_secs(60), || finished() == TASKS),
        "stuck at {}",
        finished()
    );
    for w in &workers {
        signal(w, "TERM");
    }
    for mut w in workers {
        w.wait().unwrap();
    }
    assert!(kills >= 10, "the test killed workers ({kills})");

    // Jepsen's total-queue classes: lost (queued, never completed), duplicated (completed twice),
    // and here also "in two states".
    let states = states(&p);
    assert_eq!(states.len(), TASKS, "every task is somewhere");
    for (id, folders) in &states {
        assert_eq!(folders, &["completed"], "{id} is in {folders:?}");
    }
    let completed: HashSet<String> = p.files("completed").into_iter().collect();
    assert_eq!(completed.len(), TASKS, "none lost");
    assert_eq!(p.count("reports"), TASKS, "one report per task");
    for i in (0..TASKS).step_by(97) {
        assert_eq!(p.report(&format!("c{i:04}"))["status"], "completed");
    }
    let ledger = std::fs::read_to_string(p.path().join("ledger.txt")).unwrap();
    let mut runs: HashMap<&str, usize> = HashMap::new();
    for line in ledger.lines() {
        *runs.entry(line.split(' ').next().unwrap()).or_default() += 1;
    }
    assert_eq!(runs.len(), TASKS, "every task ran");
    // Every extra run is matched by a recovered lease recorded in the task's history.
    for (id, n) in runs {
        if n > 1 {
            let task = p.task("completed", id);
            let lost = task["coord"]["history"]
                .as_array()
                .map_or(0, |h| h.iter().filter(|e| e["outcome"] == "lost").count());
            assert!(
                lost >= n - 1,
                "{id} ran {n} times with {lost} recoveries: {task}"
            );
        }
    }
}

#[test]
fn a_task_that_kills_its_worker_is_dead_lettered_after_its_attempts() {
    let p = Project::new();
    p.queue(r#"{"id":"poison","description":"kills its worker","command":"kill -9 $PPID; sleep 5","maxAttempts":2}"#);
    let mut starts = 0;
    while p.count("failed") == 0 {
        starts += 1;
        assert!(starts <= 4, "the poison pill loops");
        p.coord(&["worker", "--id", "victim", "--quiet"]);
    }
    assert_eq!(starts, 3, "two runs, then the third start dead-letters it");
    let r = p.report("poison");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["attempt"], 2);
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("stopped while holding the task"),
        "{r}"
    );
}

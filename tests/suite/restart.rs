//! Rolling restart: every worker replaced in turn, gracefully, while tasks keep arriving.

use std::collections::HashMap;
use std::time::Duration;

use super::support::*;

#[test]
fn replacing_every_worker_in_turn_runs_each_task_once_on_its_first_attempt() {
    const WORKERS: usize = 3;
    const BATCHES: usize = 6;
    const PER_BATCH: usize = 40;
    let p = Project::new();
    let start = |i: usize, generation: usize| {
        let mut child = p.spawn(&["worker", "--id", &format!("r{i}-{generation}"), "--watch"]);
        let mut lines = Lines::of(&mut child);
        lines.expect("waiting for work");
        (child, lines)
    };
    let mut workers: Vec<_> = (0..WORKERS).map(|i| start(i, 0)).collect();
    for batch in 0..BATCHES {
        let tasks: Vec<serde_json::Value> = (0..PER_BATCH)
            .map(|n| {
                serde_json::json!({
                    "id": format!("b{batch}-{n:03}"),
                    "description": "rolling",
                    "command": "echo \"$COORD_TASK_ID $COORD_ATTEMPT\" >> ledger.txt; sleep 0.02",
                })
            })
            .collect();
        p.queue(&serde_json::to_string(&tasks).unwrap());
        // Replace one worker while the batch runs: SIGTERM lets its task finish, then it exits.
        let i = batch % WORKERS;
        let (old, _) = &mut workers[i];
        signal(old, "TERM");
        let status = old.wait().unwrap();
        assert!(
            status.success(),
            "a gracefully stopped worker exits 0: {status}"
        );
        workers[i] = start(i, batch + 1);
    }
    let total = BATCHES * PER_BATCH;
    assert!(
        p.wait(Duration::from_secs(60), || p.count("completed") == total),
        "stuck at {} of {total}",
        p.count("completed")
    );
    for (w, _) in &workers {
        signal(w, "TERM");
    }
    for (mut w, _) in workers {
        assert!(w.wait().unwrap().success());
    }
    assert_eq!(p.count("pending"), 0);
    assert_eq!(p.count("failed"), 0);
    let ledger = std::fs::read_to_string(p.path().join("ledger.txt")).unwrap();
    let mut runs: HashMap<&str, Vec<&str>> = HashMap::new();
    for line in ledger.lines() {
        let (id, attempt) = line.split_once(' ').unwrap();
        runs.entry(id).or_default().push(attempt);
    }
    assert_eq!(runs.len(), total);
    for (id, attempts) in runs {
        assert_eq!(attempts, ["1"], "{id} ran once, as attempt 1");
        assert_eq!(p.report(id)["attempt"], 1);
    }
}

//! Several worker processes over one queue: every task runs exactly once.

use std::collections::HashMap;

use super::support::*;

fn drain_with_workers(workers: usize, tasks: usize) {
    let p = Project::new();
    p.queue(&ledger_tasks(tasks, "ledger.txt"));
    assert_eq!(p.count("pending"), tasks);
    let children: Vec<_> = (0..workers)
        .map(|i| p.spawn(&["worker", "--id", &format!("w{i}"), "--quiet"]))
        .collect();
    let mut per_worker = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        per_worker.push(stdout(&out));
    }
    let ledger = std::fs::read_to_string(p.path().join("ledger.txt")).unwrap();
    let mut runs: HashMap<&str, usize> = HashMap::new();
    for line in ledger.lines() {
        *runs.entry(line.split(' ').next().unwrap()).or_default() += 1;
    }
    assert_eq!(runs.len(), tasks, "every task ran");
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "tasks run more than once: {twice:?}");
    assert_eq!(p.count("completed"), tasks);
    assert_eq!(p.count("reports"), tasks);
    assert_eq!(p.count("pending"), 0);
    assert_eq!(p.count("failed"), 0);
    let busy = per_worker
        .iter()
        .filter(|s| !s.contains(": 0 completed"))
        .count();
    assert!(busy >= 1, "{per_worker:?}");
}

#[test]
fn two_workers_run_500_tasks_exactly_once() {
    drain_with_workers(2, 500);
}

#[test]
fn eight_workers_run_500_tasks_exactly_once() {
    drain_with_workers(8, 500);
}

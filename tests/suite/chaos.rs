//! Workers killed with SIGKILL while they run tasks: nothing is lost, nothing completes twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::support::*;

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
    let start = |i: usize| watching_worker(&p, &format!("k{i}"));
    let mut workers: Vec<_> = (0..WORKERS).map(start).collect();
    let finished = || p.count("completed") + p.count("failed");
    let mut kills = 0;
    // Kill a random worker each time a random 5 to 40 more tasks have finished (a few hundred
    // milliseconds of work here), and start a new one with the same id in its place.
    while finished() < TASKS && kills < 100 {
        let target = (finished() + 5 + rng.below(36)).min(TASKS);
        assert!(
            p.wait(Duration::from_secs(60), || finished() >= target),
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
        p.wait(Duration::from_secs(60), || finished() == TASKS),
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

#[test]
fn a_worker_killed_with_its_keeper_has_its_processes_killed_before_its_task_runs_again() {
    let p = Project::new();
    p.queue(r#"{"id":"bg","description":"leaves a grandchild","command":"if [ \"$COORD_ATTEMPT\" = 1 ]; then sleep 300 & echo $! > grandchild.pid; wait; fi"}"#);
    let mut worker = p.spawn(&["worker", "--id", "doomed", "--quiet"]);
    let pid_file = p.path().join("grandchild.pid");
    assert!(p.wait(Duration::from_secs(20), || {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n'))
    }));
    let grandchild = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    // Both at once, as `kill -9` of both pids would: stopped first, so neither can act.
    let kept = children_of(worker.id());
    assert_eq!(kept.len(), 1, "{kept:?}");
    for (sig, pid) in [("STOP", worker.id()), ("STOP", kept[0]), ("KILL", kept[0])] {
        let status = std::process::Command::new("kill")
            .args(["-s", sig, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert!(
        alive(grandchild.parse().unwrap()),
        "precondition: the grandchild still runs after its worker and keeper died"
    );
    let out = p.coord(&["recover"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("recovered bg from doomed"),
        "{}",
        stdout(&out)
    );
    assert!(
        wait_for_exit(grandchild.parse().unwrap(), Duration::from_secs(5)),
        "recovery killed the dead worker's leftover process before requeueing its task"
    );
    let out = p.coord(&["worker", "--id", "rescuer", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = p.report("bg");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["attempt"], 2);
}

/// Every verb at once over 2,000 tasks: 4 watching workers, a random one SIGKILLed (its keeper
/// or the worker proper) and restarted 30 times; an agent taking tasks with `next` and finishing
/// them with `complete`; an operator calling `retry` and `cancel` on random tasks, `purge` and
/// `pause`/`resume` now and then; `doctor --fix` and `recover` in a loop. Every command runs
/// under `flock -n` on a file of its task, so a second run of a task while the first still runs
/// is caught, however briefly they overlap.
#[test]
fn every_verb_at_once_loses_no_task_and_runs_none_twice_at_once() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    const TASKS: usize = 2000;
    const WORKERS: usize = 4;
    let p = Project::new();
    std::fs::create_dir(p.path().join("runs")).unwrap();
    let tasks: Vec<serde_json::Value> = (0..TASKS)
        .map(|i| {
            // One in ten always fails (retry has failed tasks to send back), two in ten fail
            // their first attempt, one in twenty runs long enough for kills to land in it, with a cleared
            // environment (only the keeper can find it then).
            let (work, attempts) = match i % 20 {
                0 | 10 => ("false", 1),
                1 | 2 | 11 | 12 => ("[ \"$COORD_ATTEMPT\" -gt 1 ]", 3),
                3 => ("env -i sleep 0.3", 3),
                _ => ("true", 3),
            };
            serde_json::json!({
                "id": format!("m{i:04}"),
                "description": "every verb at once",
                "command": format!(
                    "echo \"$COORD_TASK_ID $COORD_ATTEMPT $COORD_WORKER_ID\" >> ledger; \
                     flock -n -E 75 runs/$COORD_TASK_ID sh -c 'sleep 0.005; {work}'; rc=$?; \
                     if [ $rc = 75 ]; then echo \"$COORD_TASK_ID\" >> doubles; fi; exit $rc"
                ),
                "maxAttempts": attempts,
                "retryBackoffSecs": 0,
            })
        })
        .collect();
    p.queue(&serde_json::to_string(&tasks).unwrap());
    let start = |i: usize| watching_worker(&p, &format!("v{i}"));
    let mut workers: Vec<_> = (0..WORKERS).map(start).collect();
    let mut rng = Rng::seeded();
    let picks: Vec<usize> = (0..600).map(|_| rng.below(TASKS)).collect();
    let kills: Vec<(usize, bool, usize)> = (0..30)
        .map(|_| (rng.below(WORKERS), rng.below(2) == 0, 10 + rng.below(50)))
        .collect();
    let done = AtomicBool::new(false);
    let purged = Mutex::new(HashSet::new());
    let runs = || std::fs::read_to_string(p.path().join("ledger")).map_or(0, |l| l.lines().count());
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let out = p.coord(&["doctor", "--fix"]);
                assert!(out.status.code().is_some(), "doctor died");
                let out = p.coord(&["recover"]);
                assert!(out.status.success(), "{}", stderr(&out));
            }
        });
        s.spawn(|| agent_until(&p, &done));
        let operator = s.spawn(|| {
            for (n, i) in picks.iter().enumerate() {
                let id = format!("m{i:04}");
                let verb = ["retry", "cancel", "retry", "retry"][n % 4];
                let code = p.coord(&[verb, &id]).status.code();
                assert!(
                    matches!(code, Some(0) | Some(5) | Some(7)),
                    "{verb} {id} exited {code:?}"
                );
                match n % 100 {
                    40 => assert!(p.coord(&["pause"]).status.success()),
                    50 => assert!(p.coord(&["resume"]).status.success()),
                    99 => {
                        let out =
                            p.coord(&["purge", "--completed", "--older-than", "0s", "--json"]);
                        assert!(out.status.success(), "{}", stderr(&out));
                        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                        purged.lock().unwrap().extend(
                            v["removed"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|id| id.as_str().unwrap().to_string()),
                        );
                    }
                    _ => {}
                }
            }
        });
        for &(i, proper, after) in &kills {
            let target = runs() + after;
            if !p.wait(Duration::from_secs(30), || runs() >= target) {
                break;
            }
            let keeper = workers[i].id();
            let victim = match children_of(keeper).first() {
                Some(&worker) if proper => worker,
                _ => keeper,
            };
            let status = std::process::Command::new("kill")
                .args(["-9", &victim.to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            workers[i].wait().unwrap();
            workers[i] = start(i);
        }
        let operator = operator.join();
        assert!(p.coord(&["resume"]).status.success());
        let settled = p.wait(Duration::from_secs(120), || {
            p.count("pending") == 0
                && p.files("assigned/agent").is_empty()
                && (0..WORKERS).all(|i| p.count(&format!("assigned/v{i}")) == 0)
        });
        done.store(true, Ordering::Relaxed);
        assert!(operator.is_ok(), "the operator's checks failed");
        assert!(settled, "tasks left: pending {}", p.count("pending"));
    });
    for w in &workers {
        signal(w, "TERM");
    }
    for mut w in workers {
        w.wait().unwrap();
    }
    let doubles = std::fs::read_to_string(p.path().join("doubles")).unwrap_or_default();
    assert!(doubles.is_empty(), "run twice at the same time: {doubles}");
    let seen = states(&p);
    let purged = purged.into_inner().unwrap();
    let mut lost = Vec::new();
    for i in 0..TASKS {
        let id = format!("m{i:04}");
        match seen.get(&id) {
            None if !purged.contains(&id) => lost.push(id),
            None => {}
            Some(places) => {
                assert_eq!(places.len(), 1, "{id} is in {places:?}");
                assert!(
                    p.root()
                        .join("reports")
                        .join(format!("{id}.json"))
                        .is_file(),
                    "{id} finished in {places:?} without its report"
                );
            }
        }
    }
    assert!(lost.is_empty(), "lost: {lost:?}");
    let out = p.coord(&["doctor"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

/// A command for chaos task `id`: it holds `locks/<id>` for its whole life (a second run of the
/// same task at once writes OVERLAP), notes each start and end of a `gpu` task in the label
/// ledger, asks one question on its first attempt unless answered, and sleeps a little.
fn settled_command(id: &str, gpu: bool, asks: bool, tenths: usize) -> String {
    let coord = env!("CARGO_BIN_EXE_coord");
    // The end is noted however the run ends: normally, or stopped by its worker (TERM).
    let label = |mark: &str| match (gpu, mark) {
        (true, "+") => {
            "echo + >> gpu.ledger; trap 'echo - >> gpu.ledger; exit 1' TERM INT;".to_string()
        }
        (true, _) => "trap - TERM INT; echo - >> gpu.ledger;".to_string(),
        (false, _) => String::new(),
    };
    let ask = match asks {
        true => format!(
            "if [ -z \"$COORD_ANSWER\" ] && [ \"$COORD_ATTEMPT\" = 1 ]; then {coord} ask {id} 'which?'; sleep 1; fi;"
        ),
        false => String::new(),
    };
    format!(
        "exec 9>>locks/{id}; flock -n 9 || {{ echo OVERLAP {id} >> overlaps; exit 1; }}; {} {ask} sleep 0.{tenths}; {} true",
        label("+"),
        label("-")
    )
}

#[test]
fn releases_fails_answers_and_settings_changed_mid_run_never_double_run_or_break_a_limit() {
    if !has_flock() {
        return;
    }
    let p = Project::new();
    std::fs::create_dir(p.path().join("locks")).unwrap();
    assert!(p.coord(&["config", "limit.gpu", "2"]).status.success());
    let tasks: Vec<serde_json::Value> = (0..60)
        .map(|i| {
            let id = format!("c{i:02}");
            let gpu = i % 3 == 0;
            serde_json::json!({
                "id": id,
                "description": "chaos",
                "maxAttempts": 6,
                "retryBackoffSecs": 0,
                "requires": if gpu { vec!["gpu"] } else { vec![] },
                "command": settled_command(&id, gpu, i % 5 == 0, 1 + i % 4),
            })
        })
        .collect();
    p.queue(&serde_json::to_string(&tasks).unwrap());
    let mut workers = labelled_workers(&p, 4, "gpu", &["--rescan", "2"]);
    let done = std::sync::atomic::AtomicBool::new(false);
    let finished = || p.count("completed") + p.count("failed") == 60;
    std::thread::scope(|s| {
        // An agent's hand on running tasks: release or fail them from another process.
        s.spawn(|| {
            let mut rng = Rng::seeded();
            let mut moved = 0;
            // Each task is taken from its worker at most once, when it is first seen held.
            let mut taken = HashSet::new();
            let held = |taken: &HashSet<String>| {
                (0..4).find_map(|i| {
                    let w = format!("w{i}");
                    let files = p.files(&format!("assigned/{w}"));
                    let id = files.first()?.trim_end_matches(".json").to_string();
                    (!taken.contains(&id)).then_some((w, id))
                })
            };
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let mut next = None;
                p.wait(Duration::from_secs(2), || {
                    next = held(&taken);
                    next.is_some() || done.load(std::sync::atomic::Ordering::Relaxed)
                });
                let Some((w, id)) = next else { continue };
                // Half of them, at random, are left to run.
                taken.insert(id.clone());
                if rng.below(2) == 0 {
                    continue;
                }
                let out = match rng.below(2) {
                    0 => p.coord(&["release", &id, "--worker", &w]),
                    _ => p.coord(&["fail", &id, "--worker", &w, "--reason", "chaos"]),
                };
                assert_raced(&out, "release or fail");
                moved += usize::from(out.status.success());
            }
            assert!(moved > 0, "no running task was released or failed");
        });
        // A person answers at once, and approves or rejects what waits for review.
        s.spawn(|| {
            let mut turn = 0usize;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                turn += 1;
                for name in p.files("waiting") {
                    let id = name.trim_end_matches(".json");
                    assert_raced(&p.coord(&["answer", id, "this one"]), "answer");
                }
                for name in p.files("review") {
                    let id = name.trim_end_matches(".json");
                    let out = match turn % 4 {
                        0 => p.coord(&["reject", id, "--reason", "again"]),
                        _ => p.coord(&["approve", id]),
                    };
                    assert_raced(&out, "approve or reject");
                }
                p.wait(Duration::from_secs(2), || {
                    done.load(std::sync::atomic::Ordering::Relaxed)
                        || p.count("waiting") + p.count("review") > 0
                });
            }
        });
        // Settings change while it all runs, and an operator repairs and retries.
        s.spawn(|| {
            let mut rng = Rng::seeded();
            let mut retried = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let out = p.coord(&["doctor", "--fix", "--json"]);
                let v: serde_json::Value =
                    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                        panic!("doctor --fix printed no JSON ({e}): {}", stderr(&out))
                    });
                assert!(
                    v["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|f| f["kind"] != "duplicate"),
                    "doctor --fix beside live work: {v}"
                );
                if retried < 5
                    && let Some(name) = p.files("failed").first()
                {
                    assert_raced(
                        &p.coord(&["retry", name.trim_end_matches(".json")]),
                        "retry",
                    );
                    retried += 1;
                }
                let limit = ["1", "2"][rng.below(2)];
                assert!(p.coord(&["config", "limit.gpu", limit]).status.success());
                let review = ["true", "false"][rng.below(2)];
                assert!(p.coord(&["config", "review", review]).status.success());
                // Again at each completion.
                let before = p.count("completed");
                p.wait(Duration::from_secs(2), || {
                    done.load(std::sync::atomic::Ordering::Relaxed)
                        || p.count("completed") != before
                });
            }
        });
        let all = p.wait(std::time::Duration::from_secs(240), finished);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(all, "not every task finished: {:?}", states(&p));
    });
    stop_all(&mut workers);
    let overlaps = std::fs::read_to_string(p.path().join("overlaps")).unwrap_or_default();
    assert!(
        overlaps.is_empty(),
        "two runs of one task at once:\n{overlaps}"
    );
    let ledger = std::fs::read_to_string(p.path().join("gpu.ledger")).unwrap_or_default();
    let most = most_at_once(&ledger);
    assert!(
        most <= 2,
        "{most} gpu tasks ran at once; the limit was never above 2"
    );
    assert_consistent(&p);
}

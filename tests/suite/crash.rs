//! `kill -9` at random points inside `coord queue` and `coord complete`: the workspace stays
//! consistent, `coord doctor` says so, and running the same commands again finishes the job.

use std::process::Stdio;
use std::time::Duration;

use super::support::*;

fn tasks(count: usize, prefix: &str) -> String {
    let tasks: Vec<serde_json::Value> = (0..count)
        .map(|i| serde_json::json!({"id": format!("{prefix}{i:05}"), "description": "crash me"}))
        .collect();
    serde_json::to_string(&tasks).unwrap()
}

#[test]
fn kill_9_inside_queue_leaves_each_task_queued_once_or_not_at_all() {
    const TASKS: usize = 3000;
    let mut rng = Rng::seeded();
    let p = Project::new();
    let file = p.write("many.json", &tasks(TASKS, "q"));
    let file = file.to_str().unwrap();
    let mut kills = 0;
    for _ in 0..4 {
        let mut queue = p
            .command(&["queue", file])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it while it writes temp files, or while it publishes them into pending/.
        let k = 1 + rng.below(TASKS / 2);
        let while_writing = rng.below(2) == 0;
        p.wait(Duration::from_secs(20), || {
            let point = if while_writing {
                p.count("tmp")
            } else {
                p.count("pending")
            };
            point >= k || queue.try_wait().unwrap().is_some()
        });
        if queue.try_wait().unwrap().is_none() {
            kills += 1;
        }
        queue.kill().unwrap();
        queue.wait().unwrap();
        assert_consistent(&p);
    }
    assert!(kills > 0, "no queue call was killed midway");
    let out = p.coord(&["queue", file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("pending"), TASKS, "a re-run queues what is missing");
    assert_consistent(&p);
    let out = p.coord(&["doctor", "--fix"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(p.count("tmp"), 0);
    assert!(p.coord(&["doctor"]).status.success());
}

#[test]
fn kill_9_inside_next_and_complete_loses_no_task_and_a_rerun_finishes() {
    const TASKS: usize = 150;
    let mut rng = Rng::seeded();
    let p = Project::new();
    p.queue(&tasks(TASKS, "h"));
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_coord"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    // An agent's loop: take the next task, run the completion command it prints.
    let agent = r#"while c=$(coord next --worker agent | sed -n 's/.*"complete":"\([^"]*\)".*/\1/p'); [ -n "$c" ]; do $c >/dev/null || exit 1; done"#;
    let run_agent = || {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("sh")
            .args(["-c", agent])
            .current_dir(p.path())
            .env("PATH", &path)
            .env_remove("COORD_ROOT")
            .env_remove("COORD_WORKER_ID")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap()
    };
    for _ in 0..6 {
        let mut loop_ = run_agent();
        let k = (p.count("completed") + 1 + rng.below(20)).min(TASKS);
        p.wait(Duration::from_secs(30), || p.count("completed") >= k);
        // SIGKILL the loop's whole process group: whichever coord call runs dies midway.
        let group = format!("-{}", loop_.id());
        std::process::Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .status()
            .unwrap();
        loop_.wait().unwrap();
        assert_consistent(&p);
    }
    let mut loop_ = run_agent();
    assert!(loop_.wait().unwrap().success());
    assert_consistent(&p);
    assert!(p.coord(&["doctor", "--fix"]).status.success());
    assert!(p.coord(&["doctor"]).status.success());
    assert_eq!(p.count("completed"), TASKS);
    assert_eq!(p.count("reports"), TASKS);
    for (id, folders) in states(&p) {
        assert_eq!(folders, ["completed"], "{id}");
        assert_eq!(p.report(&id)["status"], "completed");
    }
}

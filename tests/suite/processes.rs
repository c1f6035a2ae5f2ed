//! A task's processes end with it: with its attempt, with its worker (whichever of the worker
//! and its keeper is killed), and with the `coord complete` that runs its checks, however they
//! tried to get away (`setsid`, a double fork, `env -i`).

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Stdio;
use std::time::Duration;

use super::support::*;

const BOUND: Duration = Duration::from_secs(20);

/// Three processes that leave the task's process group or its environment, each writing its
/// pid to `pids`: a `setsid` job, a job with a cleared environment, and a double-forked
/// `setsid` orphan. The command then waits for its jobs.
const RUNAWAYS: &str = "setsid sh -c 'echo $$ >> pids; exec sleep 300' & \
    env -i sh -c 'echo $$ >> pids; exec sleep 300' & \
    (setsid sh -c 'echo $$ >> pids; exec sleep 300' &) ; wait";

fn task(id: &str, command: &str) -> String {
    serde_json::json!({"id": id, "description": "runs away", "command": command}).to_string()
}

fn all_end(pids: &[u32]) {
    for &pid in pids {
        assert!(
            wait_for_exit(pid, BOUND),
            "process {pid} outlived its task's worker"
        );
    }
}

#[test]
fn a_killed_worker_takes_its_task_s_processes_with_it_at_once() {
    let p = Project::new();
    p.queue(&task("runaway", RUNAWAYS));
    let mut worker = p.spawn(&["worker", "--id", "w", "--quiet"]);
    let pids = pids_in(&p, "pids", 3);
    worker.kill().unwrap();
    worker.wait().unwrap();
    all_end(&pids);
    // Nothing recovered the task: its processes died with the worker, not with a recovery.
    assert_eq!(p.files("assigned/w"), ["runaway.json"]);
    let out = p.coord(&["recover"]);
    assert!(
        stdout(&out).contains("recovered runaway from w"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_keeper_s_flags_are_refused_from_anyone_but_the_keeper() {
    let p = Project::new();
    let me = std::process::id().to_string();
    for (keeper, fd, says) in [
        ("1", "3", "is not this worker's parent"),
        (me.as_str(), "1", "is a standard stream"),
        (me.as_str(), "3", "descriptor 3 is not"),
    ] {
        let out = p.coord(&["worker", "--id", "w", "--kept-by", keeper, "--life-fd", fd]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains(says), "{says}: {}", stderr(&out));
    }
    assert!(p.files("assigned").is_empty(), "{:?}", p.files("assigned"));
}

#[test]
fn when_the_worker_proper_is_killed_its_keeper_kills_the_task_s_processes_and_dies_alike() {
    let p = Project::new();
    p.queue(&task("runaway", RUNAWAYS));
    let mut keeper = p.spawn(&["worker", "--id", "w", "--quiet"]);
    let pids = pids_in(&p, "pids", 3);
    let kept = children_of(keeper.id());
    assert_eq!(
        kept.len(),
        1,
        "the keeper has one child, the worker: {kept:?}"
    );
    let status = std::process::Command::new("kill")
        .args(["-9", &kept[0].to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let ended = keeper.wait().unwrap();
    assert_eq!(ended.signal(), Some(9), "the keeper ends as its worker did");
    all_end(&pids);
    let status = p.status();
    assert_eq!(
        status["workers"][0]["pid"],
        keeper.id(),
        "the worker's record names the process a person started: {status}"
    );
}

#[test]
fn a_verify_command_dies_with_its_worker() {
    let p = Project::new();
    let verify = "setsid sh -c 'echo $$ >> pids; exec sleep 300' & echo $$ >> pids; exec sleep 300";
    p.queue(
        &serde_json::json!({
            "id": "checked", "description": "x", "command": "true",
            "acceptance": {"verify": verify},
        })
        .to_string(),
    );
    let mut worker = p.spawn(&["worker", "--id", "w", "--quiet"]);
    let pids = pids_in(&p, "pids", 2);
    worker.kill().unwrap();
    worker.wait().unwrap();
    all_end(&pids);
}

#[test]
fn what_a_command_leaves_running_ends_with_its_attempt() {
    let p = Project::new();
    p.queue(&task(
        "detach",
        "setsid sh -c 'echo $$ >> pids; exec sleep 300' & env -i sh -c 'echo $$ >> pids; exec sleep 300' & while [ \"$(wc -l < pids 2>/dev/null)\" != 2 ]; do :; done",
    ));
    let out = p.coord(&["worker", "--id", "w"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.report("detach")["status"], "completed");
    let pids = pids_in(&p, "pids", 2);
    for pid in pids {
        assert!(
            !alive(pid),
            "process {pid} outlived the attempt that started it"
        );
    }
    let log = std::fs::read_to_string(p.root().join("logs/tasks/detach.1.log")).unwrap();
    assert!(
        log.contains("coord: killed 2 process(es) the command left running when it ended"),
        "{log}"
    );
    assert!(
        stderr(&out).contains("detach: killed 2 process(es)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_verify_command_run_by_complete_leaves_nothing_running() {
    let p = Project::new();
    let verify = "setsid sh -c 'echo $$ >> pids; exec sleep 300' & while [ ! -s pids ]; do :; done";
    p.queue(
        &serde_json::json!({
            "id": "handed", "description": "x",
            "acceptance": {"verify": verify},
        })
        .to_string(),
    );
    let out = p.coord(&["next", "--worker", "agent"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = p.coord(&["complete", "handed", "--worker", "agent"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pids = pids_in(&p, "pids", 1);
    assert!(
        !alive(pids[0]),
        "the verify command's process outlived `coord complete`"
    );
}

#[test]
fn one_signal_to_the_keeper_s_process_group_reaches_the_worker_once() {
    let p = Project::new();
    // The task waits for `go`, so the signal arrives while it runs.
    p.queue(&task(
        "gentle",
        "touch started; while [ ! -e go ]; do sleep 0.01; done",
    ));
    let mut worker = p
        .command(&["worker", "--id", "w", "--watch", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    assert!(p.wait(BOUND, || p.path().join("started").exists()));
    // As a terminal's ^C does: SIGINT to the whole foreground group.
    let status = std::process::Command::new("kill")
        .args(["-s", "INT", "--", &format!("-{}", worker.id())])
        .status()
        .unwrap();
    assert!(status.success());
    p.write("go", "");
    let ended = worker.wait().unwrap();
    // A second SIGINT would have stopped the task and exited 130; one lets it finish.
    assert!(ended.success(), "{ended:?}");
    assert_eq!(p.report("gentle")["status"], "completed");
}

#[test]
fn a_verify_command_past_the_timeout_is_stopped_as_a_task_command_is() {
    let p = Project::new();
    // It says when SIGTERM comes, then exits; a SIGKILL first would leave no line.
    let verify = "trap 'echo terminated >> verify.out; exit 3' TERM; echo started >> verify.out; while :; do sleep 1; done";
    p.queue(
        &serde_json::json!({
            "id": "slow", "description": "x", "command": "true", "timeoutSecs": 1, "maxAttempts": 1,
            "acceptance": {"verify": verify},
        })
        .to_string(),
    );
    let out = p.coord(&["worker", "--id", "w"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    let report = p.report("slow");
    assert_eq!(report["status"], "failed", "{report}");
    let said = std::fs::read_to_string(p.path().join("verify.out")).unwrap();
    assert_eq!(
        said, "started\nterminated\n",
        "the verify command got SIGTERM first"
    );
    assert!(
        report
            .to_string()
            .contains("still running after the task's 1s timeout"),
        "{report}"
    );
}

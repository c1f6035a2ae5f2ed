//! Hostile input that must not reach the disk or block a worker: ids that are paths, FIFOs
//! where a file is expected, and files set aside that are not tasks.

use std::path::Path;
use std::time::Duration;

use super::support::*;

#[test]
fn a_worker_id_that_is_a_path_is_refused_before_any_file_is_touched() {
    let p = Project::new();
    let outside = format!("coord-escape-{}", std::process::id());
    let escape = format!("../../../{outside}");
    for id in [escape.as_str(), "../pending/evil", "a/b", ".hidden"] {
        for args in [
            vec!["next", "--worker", id],
            vec!["complete", "t", "--worker", id],
            vec!["fail", "t", "--worker", id, "--reason", "x"],
            vec!["release", "t", "--worker", id],
            vec!["heartbeat", "--worker", id],
            vec!["worker", "--id", id],
        ] {
            let out = p.coord(&args);
            assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("invalid worker id"),
                "{}",
                stderr(&out)
            );
        }
    }
    let up = p
        .root()
        .join("workers/../../..")
        .join(format!("{outside}.lock"));
    assert!(!up.exists(), "{} was created", up.display());
    assert!(p.files("pending").is_empty(), "{:?}", p.files("pending"));
    assert!(!p.root().join("pending/evil.lock").exists());
    assert!(!p.root().join("workers/a").exists());
}

#[test]
fn a_fifo_as_the_result_file_neither_blocks_the_worker_nor_is_read() {
    let p = Project::new();
    p.queue(r#"{"id":"fifo","description":"x","command":"mkfifo \"$COORD_RESULT_FILE\""}"#);
    let mut worker = p.spawn(&["worker", "--id", "w", "--quiet"]);
    assert!(
        wait_for_exit(worker.id(), Duration::from_secs(20)),
        "the worker blocked on the FIFO"
    );
    assert!(worker.wait().unwrap().success());
    let report = p.report("fifo");
    assert_eq!(report["status"], "completed");
    assert!(report["result"].is_null(), "{report}");
    assert!(
        p.files("tmp").is_empty(),
        "the result FIFO was left: {:?}",
        p.files("tmp")
    );
}

#[test]
fn complete_refuses_a_fifo_as_result_without_waiting_on_it() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    assert!(p.coord(&["next", "--worker", "a"]).status.success());
    let fifo = p.path().join("result.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let complete = p
        .command(&[
            "complete",
            "t",
            "--worker",
            "a",
            "--result",
            fifo.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for_exit(complete.id(), Duration::from_secs(20)),
        "complete blocked on the FIFO"
    );
    let out = complete.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.files("assigned/a"), ["t.json"], "the task stays held");
}

#[test]
fn files_set_aside_are_not_counted_as_failed_tasks() {
    let p = Project::new();
    p.write(".coord/pending/junk.json", "not json");
    p.queue(r#"{"id":"ok","description":"x","command":"true"}"#);
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    assert_eq!(p.files("failed"), ["junk.invalid"]);
    let st = p.status();
    assert_eq!(st["counts"]["failed"], 0, "{st}");
    assert_eq!(st["counts"]["completed"], 1, "{st}");
}

#[test]
fn a_task_that_makes_its_result_path_a_folder_does_not_stop_its_worker() {
    let p = Project::new();
    p.queue(r#"[{"id":"dir","description":"x","command":"mkdir -p \"$COORD_RESULT_FILE/inner\""},{"id":"after","description":"x","command":"true"}]"#);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["after.json", "dir.json"]);
    assert!(
        std::fs::read_dir(p.root().join("tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_bad_file_with_a_very_long_name_is_set_aside_and_the_worker_goes_on() {
    let p = Project::new();
    let name = format!("{}.json", "x".repeat(250));
    p.write(&format!(".coord/pending/{name}"), "{ not json");
    p.queue(r#"{"id":"after","description":"x","command":"true"}"#);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("completed"), ["after.json"]);
    let failed = p.files("failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].ends_with(".invalid") && failed[0].len() < 255,
        "{failed:?}"
    );
    assert!(p.files("assigned/w").is_empty());
}

#[test]
fn recovery_from_another_pid_namespace_of_the_same_host_name_leaves_this_one_alone() {
    let p = Project::new();
    let tasks: Vec<serde_json::Value> = (0..300)
        .map(|i| {
            serde_json::json!({"id": format!("n{i:03}"), "description": "x", "command": "sleep 0.005"})
        })
        .collect();
    let mut worker = p.spawn(&["worker", "--id", "host-w", "--watch", "--quiet"]);
    p.queue(&serde_json::to_string(&tasks).unwrap());
    // A container sharing this host's name (its UTS namespace) but with pids of its own, running
    // `coord recover` over and over while the host's worker works.
    let out = std::process::Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--mount-proc",
            "sh",
            "-c",
        ])
        .arg(
            "for i in $(seq 3000); do [ $(ls .coord/completed | wc -l) -ge 300 ] && break; \
             \"$C\" recover >/dev/null || exit 3; done; echo recovered",
        )
        .current_dir(p.path())
        .env("C", env!("CARGO_BIN_EXE_coord"))
        .env_remove("COORD_ROOT")
        .output()
        .unwrap();
    if !stdout(&out).contains("recovered") && stderr(&out).contains("unshare") {
        eprintln!("skipped: no pid namespaces here: {}", stderr(&out));
        signal(&worker, "TERM");
        worker.wait().unwrap();
        return;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        p.wait(Duration::from_secs(60), || p.count("completed") == 300),
        "completed {}",
        p.count("completed")
    );
    assert!(
        worker.try_wait().unwrap().is_none(),
        "the host's worker stopped"
    );
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
    assert_eq!(p.files("reports").len(), 300, "every task has its report");
    let history: Vec<String> = p
        .files("completed")
        .iter()
        .filter(|f| !p.task("completed", f.trim_end_matches(".json"))["coord"]["history"].is_null())
        .cloned()
        .collect();
    assert!(history.is_empty(), "tasks were taken back: {history:?}");
}

#[test]
fn setting_a_bad_file_aside_never_takes_a_task_s_report() {
    let p = Project::new();
    p.queue(r#"{"id":"x.invalid","description":"x","command":"true"}"#);
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    assert_eq!(p.report("x.invalid")["status"], "completed");
    p.write(".coord/pending/x.json", "{ not a task");
    assert!(
        p.coord(&["worker", "--id", "w", "--quiet"])
            .status
            .success()
    );
    assert_eq!(
        p.report("x.invalid")["status"],
        "completed",
        "the task's report stays"
    );
    assert_eq!(p.report("invalid/x.invalid")["status"], "invalid");
}

#[test]
#[cfg_attr(
    coord_missing_faketime,
    ignore = "needs libfaketime: apt-get install faketime (`just ci` installs it)"
)]
fn a_worker_whose_clock_is_a_day_ahead_does_not_delay_a_retry_for_the_others() {
    let faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    if !Path::new(faketime).exists() {
        eprintln!("skipped: libfaketime is not installed");
        return;
    }
    let p = Project::new();
    p.queue(r#"{"id":"flaky","description":"x","command":"test -f done || { touch done; exit 1; }","retryBackoffSecs":1,"maxAttempts":2}"#);
    let out = p
        .command(&["worker", "--id", "ahead", "--quiet", "--max-tasks", "1"])
        .env("LD_PRELOAD", faketime)
        .env("FAKETIME", "+1d")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        p.count("pending"),
        1,
        "the first attempt failed and went back"
    );
    // A worker with the right clock takes the retry after its backoff, not a day later.
    let mut worker = p.spawn(&["worker", "--id", "right", "--quiet"]);
    assert!(
        wait_for_exit(worker.id(), Duration::from_secs(30)),
        "the retry waited for the other worker's clock"
    );
    assert!(worker.wait().unwrap().success());
    assert_eq!(p.report("flaky")["status"], "completed");
    assert_eq!(p.report("flaky")["attempt"], 2);
    // The first worker's clock really was a day ahead.
    let history = &p.task("completed", "flaky")["coord"]["history"];
    let at: jiff::Timestamp = history[0]["at"].as_str().unwrap().parse().unwrap();
    let ahead = at.duration_since(jiff::Timestamp::now());
    assert!(ahead.as_secs() > 12 * 3600, "history: {history}");
}

#[test]
fn a_task_id_that_is_a_path_names_no_task() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    for args in [
        vec!["show", "../pending"],
        vec!["wait", "../../etc/passwd", "--timeout", "1"],
        vec!["cancel", "../t"],
        vec!["retry", "../failed/t"],
    ] {
        let out = p.coord(&args);
        assert_eq!(out.status.code(), Some(7), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(p.count("pending"), 1);
}

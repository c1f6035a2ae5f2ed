//! `coord worker`: outcomes, retries, watch mode, signals, timeouts, bad files, recovery.

use std::time::Duration;

use super::support::*;

const BOUND: Duration = Duration::from_secs(20);

#[test]
fn a_failing_command_is_retried_then_dead_lettered() {
    let p = Project::new();
    p.queue(
        r#"[
        {"id":"always","description":"fails","command":"echo boom >&2; exit 3","maxAttempts":2},
        {"id":"second-try","description":"fails once","command":"test \"$COORD_ATTEMPT\" -ge 2"}
    ]"#,
    );
    let out = p.coord(&["worker", "--id", "w1", "--quiet"]);
    // A task ran out of attempts: the drain says so in its exit code.
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));

    assert_eq!(p.files("failed"), ["always.json"]);
    let r = p.report("always");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["attempt"], 2);
    assert_eq!(r["exitCode"], 3);
    assert_eq!(r["reason"], "exit code 3");
    let log = std::fs::read_to_string(r["log"].as_str().unwrap()).unwrap();
    assert!(
        log.contains("boom"),
        "the command's stderr is in its log: {log}"
    );
    let task = p.task("failed", "always");
    let history = task["coord"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["reason"], "exit code 3");
    assert_eq!(history[0]["attempt"], 1);

    let r = p.report("second-try");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["attempt"], 2);
}

#[test]
fn missing_output_files_fail_the_task() {
    let p = Project::new();
    p.queue(r#"{"id":"lazy","description":"writes nothing","command":"true","outputFiles":["out/a.md","out/b.md"],"maxAttempts":1}"#);
    p.write("out/a.md", "present");
    let out = p.coord(&["worker", "--id", "w1", "--quiet"]);
    assert_eq!(out.status.code(), Some(12));
    let r = p.report("lazy");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["deliverables"], serde_json::json!(["out/a.md"]));
    assert_eq!(r["missing"], serde_json::json!(["out/b.md"]));
    assert_eq!(r["reason"], "missing or empty output files: out/b.md");
}

#[test]
fn exec_gets_the_documented_environment_and_its_result_is_reported() {
    let p = Project::new();
    p.queue(r#"{"id":"env-1","description":"check env","custom":{"kept":true}}"#);
    let script = p.write(
        "handler.sh",
        r#"set -eu
test "$COORD_TASK_ID" = env-1
test "$COORD_WORKER_ID" = wenv
test "$COORD_ATTEMPT" = 1
test "$PWD" = "$(cd "$(dirname "$COORD_ROOT")" && pwd)"
grep -q '"kept": true' "$COORD_TASK_FILE"
printf '{"score": 7}' > "$COORD_RESULT_FILE"
"#,
    );
    let out = p.coord(&[
        "worker",
        "--id",
        "wenv",
        "--quiet",
        "--exec",
        &format!("sh {}", script.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = p.report("env-1");
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(r["result"], serde_json::json!({"score": 7}));
}

#[test]
fn a_watching_worker_takes_a_task_queued_after_it_started_without_a_rescan() {
    let p = Project::new();
    // A one-hour rescan: only a file-system event can wake the worker in time.
    let mut worker = p.spawn(&["worker", "--id", "watcher", "--watch", "--rescan", "3600"]);
    let mut lines = Lines::of(&mut worker);
    lines.expect("waiting for work");

    p.queue(r#"{"id":"late","description":"queued later","command":"true"}"#);
    assert!(
        p.wait(BOUND, || p.count("completed") == 1),
        "the task was taken"
    );

    p.queue(r#"{"id":"later","description":"queued after a completion","command":"true"}"#);
    assert!(
        p.wait(BOUND, || p.count("completed") == 2),
        "the next task was taken too"
    );
    signal(&worker, "TERM");
    let status = worker.wait().unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_lets_the_running_task_finish_and_a_second_one_hands_it_back() {
    let p = Project::new();
    p.queue(r#"[{"id":"slow","description":"slow","command":"touch started; while [ ! -e go ]; do sleep 0.05; done"},
               {"id":"next","description":"not started","command":"true"}]"#);
    let worker = p.spawn(&["worker", "--id", "sig", "--quiet"]);
    assert!(p.wait(BOUND, || p.path().join("started").exists()));
    signal(&worker, "TERM");
    assert!(p.wait(BOUND, || {
        std::fs::read_to_string(p.root().join("logs/sig.log"))
            .unwrap_or_default()
            .contains("stopping after the running task")
    }));
    p.write("go", "");
    let out = worker.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(p.files("completed"), ["slow.json"]);
    assert_eq!(
        p.count("pending"),
        1,
        "no new task was claimed after the signal"
    );

    std::fs::remove_file(p.path().join("started")).unwrap();
    std::fs::remove_file(p.path().join("go")).unwrap();
    p.queue(r#"{"id":"slow2","description":"slow","priority":9,"command":"touch started; while [ ! -e go ]; do sleep 0.05; done"}"#);
    let worker = p.spawn(&["worker", "--id", "sig", "--quiet"]);
    assert!(p.wait(BOUND, || p.path().join("started").exists()));
    signal(&worker, "TERM");
    assert!(p.wait(BOUND, || {
        std::fs::read_to_string(p.root().join("logs/sig.log"))
            .unwrap_or_default()
            .matches("stopping after the running task")
            .count()
            == 2
    }));
    signal(&worker, "TERM");
    let out = worker.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(p.count("pending"), 2, "slow2 is back in pending/");
    let back = p
        .files("pending")
        .into_iter()
        .find(|n| n.contains("slow2"))
        .unwrap();
    let task: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.root().join("pending").join(back)).unwrap())
            .unwrap();
    let history = &task["coord"]["history"];
    assert_eq!(history[0]["outcome"], "released");
    assert_eq!(history[0]["counted"], false, "no attempt was used");
}

#[test]
fn a_task_over_its_timeout_has_its_process_group_killed() {
    let p = Project::new();
    p.queue(r#"{"id":"hang","description":"hangs","command":"sleep 300 & echo $! > child.pid; wait","timeoutSecs":1,"maxAttempts":1}"#);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert_eq!(out.status.code(), Some(12));
    let r = p.report("hang");
    assert_eq!(r["status"], "failed");
    assert!(r["reason"].as_str().unwrap().starts_with("timeout"), "{r}");
    let pid = std::fs::read_to_string(p.path().join("child.pid")).unwrap();
    assert!(
        wait_for_exit(pid.trim().parse().unwrap(), BOUND),
        "the background child was killed too"
    );
}

#[test]
fn a_bad_file_in_pending_is_set_aside_and_the_tasks_behind_it_run() {
    let p = Project::new();
    p.queue(r#"[{"id":"good-1","description":"x","command":"true"},{"id":"good-2","description":"x","command":"true"}]"#);
    let pending = p.root().join("pending");
    std::fs::write(
        pending.join("0000000000-truncated.json"),
        "{\"id\": \"trunc",
    )
    .unwrap();
    std::fs::write(pending.join("0000000001-binary.json"), [0xff, 0xfe, 0x00]).unwrap();
    std::fs::write(pending.join("0000000002-empty.json"), "").unwrap();
    std::fs::write(
        pending.join("0000000003-schema.json"),
        r#"{"id":"schema","description":7,"command":"touch schema-ran"}"#,
    )
    .unwrap();
    let big = format!(
        r#"{{"id":"big","description":"{}","command":"touch big-ran"}}"#,
        "x".repeat(9 << 20)
    );
    std::fs::write(pending.join("0000000004-oversized.json"), big).unwrap();
    std::fs::write(pending.join(".hidden.json"), "ignored").unwrap();
    std::fs::write(pending.join("half-written.tmp"), "ignored").unwrap();
    std::fs::create_dir(pending.join("a-folder")).unwrap();
    p.write(
        "outside.json",
        r#"{"id":"via-link","description":"x","command":"touch link-ran"}"#,
    );
    std::os::unix::fs::symlink(p.path().join("outside.json"), pending.join("link.json")).unwrap();
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 completed") && stdout(&out).contains("5 invalid"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.files("completed"), ["good-1.json", "good-2.json"]);
    let failed = p.files("failed");
    assert_eq!(failed.len(), 5, "{failed:?}");
    for (name, reason) in [
        ("0000000000-truncated", "not valid JSON"),
        ("0000000001-binary", "UTF-8"),
        ("0000000002-empty", "empty file"),
        ("0000000003-schema", "description"),
        ("0000000004-oversized", "larger than"),
    ] {
        let r = p.report(&format!("invalid/{name}.invalid"));
        assert_eq!(r["status"], "invalid");
        assert!(
            r["reason"].as_str().unwrap().contains(reason),
            "{name}: {r}"
        );
    }
    for ran in ["schema-ran", "big-ran", "link-ran"] {
        assert!(
            !p.path().join(ran).exists(),
            "{ran}: an invalid or linked file ran"
        );
    }
    assert_eq!(
        p.files("pending"),
        [".hidden.json", "half-written.tmp"],
        "hidden and temp files, folders and symlinks are left alone"
    );
    assert!(pending.join("link.json").is_symlink());
    assert!(
        p.path().join("outside.json").exists(),
        "a link's target is untouched"
    );
}

#[test]
fn a_hand_written_task_dropped_into_pending_runs() {
    let p = Project::new();
    std::fs::write(
        p.root().join("pending/by-hand.json"),
        r#"{"id":"manual","description":"x","command":"true"}"#,
    )
    .unwrap();
    std::fs::write(
        p.root().join("pending/named.json"),
        r#"{"id":"named","description":"named after its id","command":"true"}"#,
    )
    .unwrap();
    std::fs::write(
        p.root().join("pending/retried.json"),
        r#"{"id":"retried","description":"fails twice","command":"false","maxAttempts":2,"retryBackoffSecs":0}"#,
    )
    .unwrap();
    std::fs::write(
        p.root().join("pending/a-waits.json"),
        r#"{"id":"waits","description":"after manual","dependsOn":["manual"],"command":"true"}"#,
    )
    .unwrap();
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert_eq!(
        p.files("completed"),
        ["manual.json", "named.json", "waits.json"]
    );
    assert_eq!(p.files("failed"), ["retried.json"]);
    assert_eq!(p.report("retried")["attempt"], 2);
    assert!(p.files("pending").is_empty(), "no hidden leftovers");
}

#[test]
fn a_second_worker_with_the_same_id_is_refused() {
    let p = Project::new();
    let mut first = p.spawn(&["worker", "--id", "dup", "--watch"]);
    let mut lines = Lines::of(&mut first);
    lines.expect("waiting for work");
    let out = p.coord(&["worker", "--id", "dup"]);
    assert_eq!(out.status.code(), Some(5));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "worker dup is already running (pid {} on ",
            first.id()
        )),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    signal(&first, "INT");
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_killed_worker_s_task_is_recovered_when_it_restarts() {
    let p = Project::new();
    p.queue(r#"{"id":"victim","description":"x","command":"if [ \"$COORD_ATTEMPT\" = 1 ]; then touch started; sleep 300; fi"}"#);
    let mut worker = p.spawn(&["worker", "--id", "crashy", "--quiet"]);
    assert!(p.wait(BOUND, || p.path().join("started").exists()));
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert_eq!(p.files("assigned/crashy"), ["victim.json"]);
    let out = p.coord(&["worker", "--id", "crashy", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = p.report("victim");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["attempt"], 2);
    let task = p.task("completed", "victim");
    assert_eq!(task["coord"]["history"][0]["outcome"], "lost");
}

#[test]
fn a_task_without_a_command_is_left_for_an_agent_not_dropped() {
    let p = Project::new();
    p.queue(r#"[{"id":"for-a-person","description":"needs judgement"},{"id":"scripted","description":"x","command":"true"}]"#);
    let out = p.coord(&["worker", "--id", "w"]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("1 left in pending/ (no command"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("for-a-person has no command"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.files("completed"), ["scripted.json"]);
    assert_eq!(
        p.files("pending")
            .iter()
            .filter(|n| !n.starts_with('.'))
            .count(),
        1
    );
}

#[test]
fn a_worker_runs_no_command_from_a_folder_others_can_write() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new();
    p.queue(r#"{"id":"planted","description":"x","command":"touch ran"}"#);
    let pending = p.root().join("pending");
    std::fs::set_permissions(&pending, std::fs::Permissions::from_mode(0o770)).unwrap();
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert_eq!(out.status.code(), Some(8));
    let err = stderr(&out);
    assert!(
        err.contains("refusing to run task commands:")
            && err.contains("pending is unsafe: it is writable by its group (gid "),
        "{err}"
    );
    assert!(err.contains("hint: another user could have written the tasks there; if that is not so, run `chmod g-w "), "{err}");
    assert!(!p.path().join("ran").exists());
    assert_eq!(p.count("pending"), 1, "the task is left where it was");

    std::fs::set_permissions(&pending, std::fs::Permissions::from_mode(0o700)).unwrap();
    let planted = pending.join("by-hand.json");
    std::fs::write(
        &planted,
        r#"{"id":"other","description":"x","command":"touch ran-too"}"#,
    )
    .unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.path().join("ran").exists(), "the safe task ran");
    assert!(
        !p.path().join("ran-too").exists(),
        "the writable task file did not"
    );
    let report = p.report("invalid/other.invalid");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("writable by others (mode 0666)"),
        "{report}"
    );
}

#[test]
fn a_report_left_in_tmp_by_a_dead_worker_is_published_by_the_next_one() {
    let p = Project::new();
    p.queue(r#"{"id":"done-early","description":"x","command":"true"}"#);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success());
    // As if the worker had died between committing the task and publishing its report.
    let report = std::fs::read(p.root().join("reports/done-early.json")).unwrap();
    std::fs::remove_file(p.root().join("reports/done-early.json")).unwrap();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    let host = tmp_host();
    let orphan = p
        .root()
        .join(format!("tmp/{}.{pid}.3.0badf00d.report.tmp", host.trim()));
    std::fs::write(&orphan, &report).unwrap();
    let stray = p
        .root()
        .join(format!("tmp/{}.{pid}.4.0badf00d.task.tmp", host.trim()));
    std::fs::write(&stray, "half a task").unwrap();

    let out = p.coord(&["recover"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("published 1 report(s)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(p.root().join("reports/done-early.json")).unwrap(),
        report
    );
    assert!(!orphan.exists() && !stray.exists(), "tmp/ is clean");
}

#[test]
fn without_file_system_events_the_rescan_still_takes_new_tasks() {
    let p = Project::new();
    let mut worker = p.spawn(&["worker", "--id", "poller", "--watch", "--poll", "0.2"]);
    let mut lines = Lines::of(&mut worker);
    lines.expect("rescanning pending/ every 0.2s");
    p.queue(r#"{"id":"unannounced","description":"x","command":"true"}"#);
    assert!(
        p.wait(BOUND, || p.count("completed") == 1),
        "{}",
        lines.seen()
    );
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
}

/// The README's CI line, exactly as the README writes it.
fn readme_ci_line() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    readme
        .lines()
        .find(|l| l.starts_with("coord queue tasks.json && coord worker --id ci"))
        .expect("the README has its CI example")
        .to_string()
}

#[test]
fn the_readme_ci_example_runs_as_written_and_fails_when_a_task_is_dead_lettered() {
    let line = readme_ci_line();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_coord"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = |p: &Project| {
        std::process::Command::new("sh")
            .args(["-c", &line])
            .current_dir(p.path())
            .env("PATH", &path)
            .env_remove("COORD_ROOT")
            .env_remove("COORD_WORKER_ID")
            .output()
            .unwrap()
    };
    // Each task's check runs `make check` in the project: it passes where `ok` exists.
    let p = Project::new();
    p.write("Makefile", "check:\n\ttest -f ok\n");
    p.write("ok", "");
    p.write(
        "tasks.json",
        r#"[{"id":"a","description":"check","maxAttempts":1},{"id":"b","description":"check","maxAttempts":1}]"#,
    );
    let out = run(&p);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(p.count("completed"), 2);

    let p = Project::new();
    p.write("Makefile", "check:\n\ttest -f ok\n");
    p.write(
        "tasks.json",
        r#"[{"id":"a","description":"check","maxAttempts":1}]"#,
    );
    let out = run(&p);
    assert_eq!(
        out.status.code(),
        Some(12),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("1 task(s) ran out of attempts and are in failed/: a"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_paused_workspace_is_said_out_loud_by_queue_and_worker() {
    let p = Project::new();
    assert!(p.coord(&["pause"]).status.success());
    let out = p.queue(r#"{"id":"later","description":"x","command":"true"}"#);
    assert!(
        stderr(&out).contains("the workspace is paused"),
        "{}",
        stderr(&out)
    );
    let out = p.coord(&["worker", "--id", "w"]);
    assert_eq!(out.status.code(), Some(13), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the workspace is paused: w claims nothing"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        p.files("pending")
            .iter()
            .filter(|n| !n.starts_with('.'))
            .count(),
        1
    );
}

#[test]
fn a_worker_that_sees_no_events_is_woken_by_the_doorbell() {
    // No events and no rescan within the test's bound: only a ring of the doorbell (what a
    // worker on another host over a network file system relies on) can wake it.
    let p = Project::new();
    let mut worker = p.spawn(&[
        "worker", "--id", "remote", "--watch", "--poll", "600", "--rescan", "600",
    ]);
    let mut lines = Lines::of(&mut worker);
    lines.expect("rescanning pending/ every 600s");
    // A queue call rings it.
    p.queue(r#"{"id":"queued","description":"x","command":"true"}"#);
    assert!(
        p.wait(BOUND, || p.count("completed") == 1),
        "{}",
        lines.seen()
    );
    assert!(p.root().join("doorbell").is_file());
    // So does a task sent back to pending/ by a move of the state machine (here `retry`).
    let out = p.coord(&[
        "add",
        "--id",
        "again",
        "--max-attempts",
        "1",
        "--",
        "test",
        "-e",
        "fixed",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.wait(BOUND, || p.count("failed") == 1), "{}", lines.seen());
    std::fs::write(p.path().join("fixed"), "").unwrap();
    assert!(p.coord(&["retry", "again"]).status.success());
    assert!(
        p.wait(BOUND, || p.count("completed") == 2),
        "{}",
        lines.seen()
    );
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
}

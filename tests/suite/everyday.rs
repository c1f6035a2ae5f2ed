//! The everyday surface: a task list, one-word queuing, why a task waits, read-only files,
//! task logs, journal filters, forgetting stopped workers, output that fits 80 columns.

use std::time::Duration;

use super::support::*;

const BOUND: Duration = Duration::from_secs(20);

fn lines_fit(text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

#[test]
fn list_shows_every_task_with_its_state_and_why_it_waits() {
    let p = Project::new();
    p.queue(
        r#"[{"id":"writer","description":"edits the readme","targetFiles":["README.md"]},
            {"id":"reader","description":"reads the readme","readFiles":["README.md"]},
            {"id":"later","description":"not yet","notBefore":"2999-01-01T00:00:00Z"},
            {"id":"after-later","description":"x","dependsOn":["later"]},
            {"id":"deploy","description":"x","requires":["prod"]},
            {"id":"an-id-far-too-long-to-fit-in-its-column-of-the-table","description":"x"}]"#,
    );
    let v = json_of(&p, &["next", "--worker", "w1", "--json"]);
    assert_eq!(v["taskId"], "writer");
    let text = stdout(&p.coord(&["list"]));
    lines_fit(&text);
    assert!(text.starts_with("TASK"), "{text}");
    assert!(text.contains("an-id-far-too-long-…"), "{text}");
    let rows: Vec<serde_json::Value> = stdout(&p.coord(&["ls", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    let row = |id: &str| rows.iter().find(|r| r["taskId"] == id).unwrap().clone();
    assert_eq!(row("writer")["state"], "assigned");
    assert_eq!(row("writer")["workerId"], "w1");
    assert_eq!(row("writer")["schemaVersion"], 1);
    assert_eq!(row("reader")["waitsFor"], "README.md is held by writer");
    assert!(
        row("later")["waitsFor"]
            .as_str()
            .unwrap()
            .starts_with("notBefore: not before 2999")
    );
    assert_eq!(row("after-later")["waitsFor"], "waits for later");
    assert_eq!(row("after-later")["state"], "blocked");
    let out = p.coord(&["ls", "--state", "blocked,assigned", "--json"]);
    assert_eq!(stdout(&out).lines().count(), 2);
    let out = p.coord(&["ls", "--worker", "w1", "--json"]);
    assert_eq!(stdout(&out).lines().count(), 1);
    let out = p.coord(&["ls", "--label", "prod", "--json"]);
    assert!(stdout(&out).contains(r#""taskId":"deploy""#));
    let out = p.coord(&["ls", "--state", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    let out = p.coord(&["ls", "-n", "2"]);
    assert!(stdout(&out).contains("… and 4 more"), "{}", stdout(&out));

    // The same reasons reach `show` and an empty `next`.
    let show = stdout(&p.coord(&["show", "reader"]));
    assert!(
        show.contains("waits: README.md is held by writer"),
        "{show}"
    );
    let out = p.coord(&["next", "--worker", "w2", "--text"]);
    // w2 gets the long-id task; then nothing is ready for it, and it is told why.
    assert!(out.status.success());
    let out = p.coord(&["next", "--worker", "w3", "--json"]);
    assert_eq!(out.status.code(), Some(10));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let waiting = v["waiting"].as_array().unwrap();
    assert!(waiting.iter().any(|w| w["taskId"] == "reader"), "{v}");
    assert!(
        waiting.iter().any(|w| w["taskId"] == "deploy"
            && w["waitsFor"]
                .as_str()
                .unwrap()
                .contains("requires label prod")),
        "{v}"
    );
}

#[test]
fn tasks_that_only_read_a_file_run_at_once_and_a_writer_waits_for_them() {
    let p = Project::new();
    p.write("README.md", "shared input\n");
    // Each reader holds until the other has started: they must run side by side.
    let tasks: Vec<String> = (0..2)
        .map(|i| {
            format!(
                r#"{{"id":"read{i}","description":"x","readFiles":["README.md"],"command":"touch started{i}; while [ ! -e started{o} ]; do sleep 0.01; done; [ ! -e wrote ]"}}"#,
                o = 1 - i
            )
        })
        .collect();
    p.queue(&format!("[{}]", tasks.join(",")));
    p.queue(
        r#"{"id":"write","description":"x","targetFiles":["README.md"],"command":"touch wrote","priority":-1}"#,
    );
    let mut workers: Vec<_> = (0..2)
        .map(|i| p.spawn(&["worker", "--id", &format!("w{i}"), "--watch", "--quiet"]))
        .collect();
    assert!(p.wait(BOUND, || p.count("completed") == 3));
    for w in &workers {
        signal(w, "TERM");
    }
    for w in &mut workers {
        assert!(w.wait().unwrap().success());
    }
    assert_eq!(p.count("failed"), 0, "the writer never ran beside a reader");
}

#[test]
fn add_queues_one_command_without_json() {
    let p = Project::new();
    let out = p.coord(&[
        "add",
        "--id",
        "hello",
        "--output",
        "out.txt",
        "--",
        "sh",
        "-c",
        "echo \"it's\" > out.txt",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "queued     hello");
    let out = p.coord(&[
        "add",
        "--after",
        "hello",
        "--priority",
        "-2",
        "--label",
        "x",
        "echo done",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("blocked"), "{}", stdout(&out));
    let v = json_of(&p, &["show", "hello", "--json"]);
    assert_eq!(v["task"]["command"], r#"sh -c 'echo "it'\''s" > out.txt'"#);
    assert_eq!(v["task"]["description"], v["task"]["command"]);
    let out = p.coord(&["worker", "--id", "w", "--labels", "x"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(p.path().join("out.txt")).unwrap(),
        "it's\n"
    );
    assert_eq!(p.count("completed"), 2);
    let out = p.coord(&["add", "--id", "../x", "--", "true"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let out = p.coord(&["add", "--id", "nothing"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn show_ends_with_the_log_and_numbers_attempts_across_retries_and_logs_prints_a_task() {
    let p = Project::new();
    p.queue(r#"{"id":"flaky","description":"x","command":"echo line one; echo line two; exit 3","maxAttempts":1}"#);
    assert_eq!(p.coord(&["worker", "--id", "w"]).status.code(), Some(12));
    assert!(p.coord(&["retry", "flaky"]).status.success());
    assert_eq!(p.coord(&["worker", "--id", "w"]).status.code(), Some(12));
    let show = stdout(&p.coord(&["show", "flaky"]));
    assert!(show.contains("retry 1 by"), "{show}");
    assert!(show.contains("last lines of"), "{show}");
    assert!(show.contains("    line two"), "{show}");
    let out = p.coord(&["logs", "flaky"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("== flaky, attempt 1"), "{text}");
    assert_eq!(
        text.matches("line one").count(),
        2,
        "both attempts' logs: {text}"
    );
}

#[test]
fn following_a_worker_s_log_waits_for_the_worker_to_start() {
    let p = Project::new();
    let mut follow = p.spawn(&["logs", "late", "--follow"]);
    // The follower is up (it says it waits) before the worker starts.
    let mut err = std::io::BufReader::new(follow.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert!(line.contains("waiting for it to appear"), "{line}");
    p.queue(r#"{"id":"t","description":"x","command":"true"}"#);
    assert!(p.coord(&["worker", "--id", "late"]).status.success());
    let mut out = std::io::BufReader::new(follow.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("completed t") {
        let mut l = String::new();
        assert!(std::io::BufRead::read_line(&mut out, &mut l).unwrap() > 0);
        seen.push_str(&l);
    }
    follow.kill().unwrap();
    follow.wait().unwrap();
}

#[test]
fn events_filter_by_task_time_and_count_and_fit_80_columns() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x","command":"true"},{"id":"b-with-a-rather-long-identifier-indeed","description":"x","command":"true"}]"#);
    assert!(
        p.coord(&["worker", "--id", "a-worker-with-a-long-name"])
            .status
            .success()
    );
    let all = stdout(&p.coord(&["events"]));
    lines_fit(&all);
    let only_a = stdout(&p.coord(&["events", "--task", "a", "--json"]));
    assert!(only_a.lines().count() >= 3);
    assert!(
        only_a.lines().all(|l| l.contains(r#""taskId":"a""#)),
        "{only_a}"
    );
    let last = stdout(&p.coord(&["events", "-n", "2", "--json"]));
    assert_eq!(last.lines().count(), 2);
    let all_json = stdout(&p.coord(&["events", "--json"]));
    assert_eq!(
        all_json.lines().rev().take(2).collect::<Vec<_>>(),
        last.lines().rev().collect::<Vec<_>>()
    );
    assert_eq!(
        stdout(&p.coord(&["events", "--since", "2999-01-01T00:00:00Z"])),
        ""
    );
    assert_eq!(
        stdout(&p.coord(&["events", "--since", "1h", "--json"]))
            .lines()
            .count(),
        all_json.lines().count()
    );
    assert_eq!(
        p.coord(&["events", "--since", "yesterday"]).status.code(),
        Some(2)
    );
}

#[test]
fn stopped_workers_can_be_forgotten_and_live_or_holding_ones_cannot() {
    let p = Project::new();
    p.queue(r#"[{"id":"a","description":"x","command":"true"},{"id":"b","description":"x"}]"#);
    assert!(
        p.coord(&[
            "worker",
            "--id",
            "done",
            "--exec",
            "true",
            "--max-tasks",
            "1"
        ])
        .status
        .success()
    );
    json_of(&p, &["next", "--worker", "agent", "--json"]);
    let mut live = p.spawn(&["worker", "--id", "live", "--watch", "--quiet"]);
    assert!(p.wait(BOUND, || p.root().join("workers/live.json").exists()));
    let out = p.coord(&["workers", "forget", "agent", "live"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("agent still holds 1 task"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("live may be running"),
        "{}",
        stderr(&out)
    );
    let out = p.coord(&["workers", "forget", "--stopped"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "forgot done");
    let ids: Vec<String> = p.status()["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["workerId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["agent", "live"]);
    signal(&live, "TERM");
    assert!(live.wait().unwrap().success());
    assert_eq!(
        stdout(&p.coord(&["workers", "forget", "--stopped"])).trim(),
        "forgot live"
    );
    assert_eq!(
        p.coord(&["workers", "forget", "ghost"]).status.code(),
        Some(7)
    );
    assert_eq!(
        p.coord(&["workers", "forget", "../x"]).status.code(),
        Some(4)
    );
}

#[test]
fn status_counts_cancelled_tasks_apart_and_fits_80_columns() {
    let p = Project::new();
    p.queue(r#"[{"id":"c","description":"x"},{"id":"f","description":"x","command":"false","maxAttempts":1}]"#);
    assert!(p.coord(&["cancel", "c"]).status.success());
    assert_eq!(
        p.coord(&["worker", "--id", "a-worker-id-longer-than-twelve"])
            .status
            .code(),
        Some(12)
    );
    let st = p.status();
    assert_eq!(st["counts"]["failed"], 1);
    assert_eq!(st["counts"]["cancelled"], 1);
    let text = stdout(&p.coord(&["status"]));
    lines_fit(&text);
    assert!(text.contains("failed 1   cancelled 1"), "{text}");
    assert!(text.contains("a-worker-id…"), "{text}");
}

#[test]
fn the_readme_shell_example_runs_as_written() {
    let p = Project::new();
    p.write("Makefile", "build:\n\techo built\ntest:\n\techo tested\n");
    let out = sh_with_coord(p.path(), &readme_block("sh", "coord add --id build"));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(p.count("completed"), 2);
    let text = stdout(&out);
    assert!(text.contains("== build, attempt 1"), "{text}");
    assert!(text.contains("built"), "{text}");
    lines_fit(&text);
}

#[test]
fn completions_and_the_manual_page_cover_every_command() {
    let p = Project::bare();
    let out = p.coord(&["completions", "bash"]);
    assert!(out.status.success());
    let script = p.write("coord.bash", &stdout(&out));
    let check = std::process::Command::new("bash")
        .args(["-n", script.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    for shell in ["zsh", "fish"] {
        let out = p.coord(&["completions", shell]);
        assert!(out.status.success());
        for verb in ["queue", "worker", "approve", "inbox", "list"] {
            assert!(stdout(&out).contains(verb), "{shell} lacks {verb}");
        }
    }
    assert_eq!(p.coord(&["completions", "tcsh"]).status.code(), Some(2));
    let out = p.coord(&["man"]);
    assert!(stdout(&out).starts_with(".ie") || stdout(&out).contains(".TH coord 1"));
    let dir = p.path().join("man1");
    assert!(
        p.coord(&["man", "--dir", dir.to_str().unwrap()])
            .status
            .success()
    );
    for page in [
        "coord.1",
        "coord-queue.1",
        "coord-worker.1",
        "coord-answer.1",
    ] {
        assert!(dir.join(page).is_file(), "{page} missing");
    }
}

#[test]
fn colour_reaches_a_terminal_only_and_never_with_no_color() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    assert!(p.coord(&["cancel", "t"]).status.success());
    // Piped: no escape codes, whatever the terminal variables say.
    let out = p
        .command(&["list"])
        .env_remove("NO_COLOR")
        .env("CLICOLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\x1b'), "{}", stdout(&out));
    // Forced on (as a terminal would be): the failed state is red; NO_COLOR still wins.
    let out = p
        .command(&["list"])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(stdout(&out).contains("\x1b[31mfailed"), "{}", stdout(&out));
    let out = p
        .command(&["list"])
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\x1b'), "{}", stdout(&out));
    // Every help page fits 80 columns, whatever the terminal's width.
    let help = stdout(
        &p.command(&["--help"])
            .env("COLUMNS", "200")
            .output()
            .unwrap(),
    );
    lines_fit(&help);
    for verb in ["worker", "add", "queue", "list", "release", "config"] {
        let out = p
            .command(&[verb, "--help"])
            .env("COLUMNS", "200")
            .output()
            .unwrap();
        lines_fit(&stdout(&out));
    }
}

#[test]
fn a_drain_that_leaves_tasks_behind_says_why_in_its_log() {
    let p = Project::new();
    p.queue(
        r#"[{"id":"gpu-job","description":"x","command":"true","requires":["gpu"]},
            {"id":"tomorrow","description":"x","command":"true","notBefore":"2999-01-01T00:00:00Z"},
            {"id":"now","description":"x","command":"true"}]"#,
    );
    let out = p.coord(&["worker", "--id", "batch"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = std::fs::read_to_string(p.root().join("logs/batch.log")).unwrap();
    assert!(
        log.contains("exiting with 2 task(s) still pending"),
        "{log}"
    );
    assert!(log.contains("gpu-job (requires label gpu)"), "{log}");
    assert!(
        log.contains("tomorrow (notBefore: not before 2999"),
        "{log}"
    );
}

/// A fenced block of the README: the first one whose text starts with `start`.
fn readme_block(fence: &str, start: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let open = format!("```{fence}\n{start}");
    let at = readme
        .find(&open)
        .unwrap_or_else(|| panic!("the README has no {fence} block starting {start:?}"));
    let block = &readme[at + fence.len() + 4..];
    block[..block.find("```").unwrap()].to_string()
}

#[test]
fn the_readme_quick_start_runs_as_written() {
    let p = Project::bare();
    p.write(
        "my-project/tasks.json",
        r#"[{"id":"one","description":"x","outputFiles":["one.out"]},{"id":"two","description":"y","outputFiles":["two.out"]}]"#,
    );
    let handler = p.write(
        "my-project/handle-task.sh",
        "#!/bin/sh\necho \"handled $COORD_TASK_ID\" > \"$COORD_TASK_ID.out\"\n",
    );
    std::fs::set_permissions(
        &handler,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = sh_with_coord(p.path(), &readme_block("sh", "cd my-project"));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    // `wait` counts what was still unfinished when it looked: one or both.
    assert!(text.contains("task(s) completed\n"), "{text}");
    assert!(text.contains("completed 2"), "{text}");
    assert!(text.contains("registered"), "{text}");
    let completed = p.path().join("my-project/.coord/completed");
    assert_eq!(std::fs::read_dir(completed).unwrap().count(), 2);
}

#[test]
fn the_readme_task_example_queues_as_written() {
    let p = Project::new();
    p.write(
        "tasks.json",
        &readme_block("json", "[\n  {\n    \"id\": \"task-001\""),
    );
    let out = p.coord(&["queue", "tasks.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json_of(&p, &["show", "task-001", "--json"]);
    assert_eq!(
        v["task"]["anything"],
        "else is kept verbatim and handed to the worker"
    );
    assert_eq!(v["task"]["timeoutSecs"], 600);
}

#[test]
fn every_table_fits_80_columns_with_long_ids() {
    let p = Project::new();
    let long = "a-task-id-that-is-much-longer-than-any-column-could-hold-for-it";
    p.queue(&format!(
        r#"[{{"id":"{long}","description":"x","command":"true"}},
            {{"id":"{long}-2","description":"x","review":true}}]"#
    ));
    let worker = "a-worker-id-that-is-also-far-too-long-for-its-column";
    assert!(
        p.coord(&["worker", "--id", worker, "--exec", "true"])
            .status
            .success()
    );
    p.queue(&format!(r#"{{"id":"{long}-3","description":"x"}}"#));
    json_of(&p, &["next", "--worker", worker, "--json"]);
    let v = json_of(&p, &["ls", "--state", "assigned", "--json"]);
    let held = v["taskId"].as_str().unwrap().to_string();
    assert!(
        p.coord(&[
            "ask",
            &held,
            "--worker",
            worker,
            "Is this the one we agreed on last week, or the other?"
        ])
        .status
        .success()
    );
    assert!(
        p.coord(&["send", "--to", "coordinator", "--from", worker, "done"])
            .status
            .success()
    );
    for args in [
        vec!["status"],
        vec!["list"],
        vec!["events"],
        vec!["stats"],
        vec!["review"],
        vec!["questions"],
        vec!["config"],
    ] {
        let out = p.coord(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "coord {args:?}: {line}");
        }
    }
}

#[test]
fn worker_logs_rotate_and_purge_removes_those_of_workers_that_are_gone() {
    let p = Project::new();
    let tasks: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"id":"t{i:02}","description":"x"}}"#))
        .collect();
    p.queue(&format!("[{}]", tasks.join(",")));
    let out = p
        .command(&["worker", "--id", "chatty", "--exec", "true", "--quiet"])
        .env("COORD_LOG_MAX_BYTES", "2000")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let logs = p.root().join("logs");
    let current = std::fs::metadata(logs.join("chatty.log")).unwrap().len();
    let older = std::fs::metadata(logs.join("chatty.log.1")).unwrap().len();
    assert!(
        current < 2400 && older < 2400,
        "{current} and {older} bytes"
    );
    assert!(
        std::fs::read_to_string(logs.join("chatty.log"))
            .unwrap()
            .contains("shutdown")
    );

    let mut live = p.spawn(&["worker", "--id", "live", "--watch", "--quiet"]);
    assert!(p.wait(Duration::from_secs(20), || logs.join("live.log").exists()));
    let v = json_of(&p, &["purge", "--logs", "--older-than", "0s", "--json"]);
    assert_eq!(v["workerLogsRemoved"], serde_json::json!(["chatty"]));
    assert!(!logs.join("chatty.log").exists() && !logs.join("chatty.log.1").exists());
    assert!(
        logs.join("live.log").exists(),
        "a running worker's log is kept"
    );
    signal(&live, "TERM");
    assert!(live.wait().unwrap().success());
    let out = p.coord(&["purge", "--older-than", "1d"]);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn the_journal_is_kept_in_segments_read_in_order_and_purged() {
    let p = Project::new();
    let small = |args: &[&str]| {
        p.command(args)
            .env("COORD_JOURNAL_SEGMENT_BYTES", "4000")
            .output()
            .unwrap()
    };
    let mut follow = p
        .command(&["events", "--follow", "--json"])
        .env("COORD_JOURNAL_SEGMENT_BYTES", "4000")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tasks: Vec<String> = (0..60)
        .map(|i| format!(r#"{{"id":"t{i:02}","description":"x"}}"#))
        .collect();
    let file = p.write("tasks.json", &format!("[{}]", tasks.join(",")));
    assert!(small(&["queue", file.to_str().unwrap()]).status.success());
    assert!(
        small(&["worker", "--id", "w", "--exec", "true", "--quiet"])
            .status
            .success()
    );
    let segments: Vec<_> = std::fs::read_dir(p.root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(segments.len() >= 3, "{segments:?}");
    for s in &segments {
        // A segment may pass the size by the lines written before its writer saw it.
        assert!(std::fs::metadata(s).unwrap().len() < 12_000, "{s:?}");
    }
    // Every event, in order, across the segments and the live file.
    let all: Vec<serde_json::Value> = stdout(&small(&["events", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(all.len(), 240, "60 queued, claimed, started, completed");
    let pos = |kind: &str, id: &str| {
        all.iter()
            .position(|e| e["event"] == kind && e["taskId"] == id)
            .unwrap()
    };
    for i in 0..60 {
        let id = format!("t{i:02}");
        assert!(pos("queued", &id) < pos("claimed", &id));
        assert!(pos("started", &id) < pos("completed", &id));
    }
    // The follower went from file to file as they were set aside, missing nothing.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(follow.stdout.take().unwrap()));
    let mut seen = 0;
    while seen < 240 {
        lines.next().unwrap().unwrap();
        seen += 1;
    }
    follow.kill().unwrap();
    follow.wait().unwrap();
    assert_eq!(json_of(&p, &["stats", "--json"])["waitMs"]["count"], 60);
    let v = json_of(&p, &["purge", "--journal", "--older-than", "0s", "--json"]);
    // The live file, quiet for at least 0s, is set aside and removed with them.
    assert_eq!(
        v["journalSegmentsRemoved"].as_array().unwrap().len(),
        segments.len() + 1,
        "{v}"
    );
    assert!(!p.root().join("events.jsonl").exists());
    assert_eq!(stdout(&p.coord(&["events", "--json"])).lines().count(), 0);
    // The next change starts a new live file.
    p.queue(r#"{"id":"after-purge","description":"x"}"#);
    let after = stdout(&p.coord(&["events", "--json"]));
    assert_eq!(after.lines().count(), 1, "{after}");
    assert!(after.contains("after-purge"));
}

//! `coord queue`: formats, validation, idempotent re-queue, conflicts.

use super::support::*;

#[test]
fn accepts_array_object_and_json_lines_from_file_or_stdin() {
    let p = Project::new();
    p.queue(r#"[{"id":"a1","description":"one"},{"id":"a2","description":"two"}]"#);
    p.queue(r#"{"id":"b1","description":"single object"}"#);
    p.queue("{\"id\":\"c1\",\"description\":\"line one\"}\n{\"id\":\"c2\",\"description\":\"line two\"}\n");
    let mut child = p
        .command(&["queue", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"description":"no id given"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items["schemaVersion"], 1);
    assert_eq!(items["tasks"][0]["outcome"], "queued");
    assert!(
        items["tasks"][0]["taskId"]
            .as_str()
            .unwrap()
            .starts_with("task-")
    );
    assert_eq!(p.count("pending"), 6);
}

#[test]
fn an_invalid_file_queues_nothing_and_lists_every_problem() {
    let p = Project::new();
    let file = p.write(
        "bad.json",
        r#"[
            {"id": "ok-1", "description": "fine"},
            {"id": "bad/id", "description": "slash in id"},
            {"id": "no-desc"},
            {"id": "escape", "description": "x", "outputFiles": ["../outside.md"]},
            {"id": "abs", "description": "x", "targetFiles": ["/etc/passwd"]},
            {"id": "ok-1", "description": "duplicate id"},
            {"id": "st", "description": "x", "coord": {}}
        ]"#,
    );
    let out = p.coord(&["queue", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in [
        "6 tasks are invalid: nothing was queued",
        "task 2 (bad/id)",
        "task 3 (no-desc): missing `description`",
        "task 4 (escape): `outputFiles`: path \"../outside.md\" uses '..'",
        "task 5 (abs): `targetFiles`: path \"/etc/passwd\" is absolute",
        "task 6 (ok-1): id \"ok-1\" is used twice (first at task 1)",
        "task 7 (st): `coord` is reserved",
        "hint:",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(p.count("pending"), 0);
    assert_eq!(p.count("tmp"), 0);
}

#[test]
fn broken_json_is_reported_with_its_line() {
    let p = Project::new();
    let file = p.write(
        "broken.json",
        "[\n {\"id\": \"a\", \"description\": \"x\"},\n {\"id\": \n",
    );
    let out = p.coord(&["queue", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("line 4: not valid JSON"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.count("pending"), 0);
}

#[test]
fn requeuing_identical_tasks_is_a_no_op_and_changed_content_is_refused() {
    let p = Project::new();
    let tasks = r#"[{"id":"t1","description":"same","command":"true"},{"id":"t2","description":"same","command":"true"}]"#;
    p.queue(tasks);
    let out = p.coord(&["worker", "--id", "w", "--quiet"]);
    assert!(out.status.success());
    assert_eq!(p.count("completed"), 2);

    let out = p.queue(tasks);
    assert!(
        stdout(&out).contains("unchanged  t1 (already completed)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.count("pending"), 0, "nothing is queued twice");

    let file = p.write("changed.json", r#"[{"id":"t1","description":"different","command":"true"},{"id":"t3","description":"new"}]"#);
    let out = p.coord(&["queue", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(5));
    let err = stderr(&out);
    assert!(err.contains("task 1 (t1): already completed"), "{err}");
    assert_eq!(
        p.count("pending"),
        0,
        "t3 is not queued either: all or nothing"
    );
}

#[test]
fn higher_priority_runs_first_then_queue_order() {
    let p = Project::new();
    p.queue(
        r#"[
        {"id":"low","description":"x","priority":-1,"command":"echo low >> order.txt"},
        {"id":"first","description":"x","command":"echo first >> order.txt"},
        {"id":"urgent","description":"x","priority":5,"command":"echo urgent >> order.txt"},
        {"id":"second","description":"x","command":"echo second >> order.txt"}
    ]"#,
    );
    let out = p.coord(&["worker", "--id", "solo", "--quiet"]);
    assert!(out.status.success());
    let order = std::fs::read_to_string(p.path().join("order.txt")).unwrap();
    assert_eq!(
        order.lines().collect::<Vec<_>>(),
        ["urgent", "first", "second", "low"]
    );
}

#[test]
fn a_misspelled_key_is_refused_naming_the_key_it_resembles_and_other_keys_are_kept() {
    let p = Project::new();
    let file = p.write(
        "typos.json",
        r#"{"id":"t","descripton":"x","dependson":["a"],"outputfiles":["o.md"]}"#,
    );
    let out = p.coord(&["queue", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1 task is invalid"),
        "one task, three problems: {err}"
    );
    for (typo, known) in [
        ("descripton", "description"),
        ("dependson", "dependsOn"),
        ("outputfiles", "outputFiles"),
    ] {
        assert!(
            err.contains(&format!("unknown key `{typo}`: did you mean `{known}`?")),
            "{err}"
        );
    }
    assert_eq!(p.count("pending"), 0);
    // A key of the task's own, far from any coord reads, is kept as it is.
    p.queue(r#"{"id":"mine","description":"x","owner":"ops","ticket":"OPS-12"}"#);
    let out = p.coord(&["show", "mine", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["task"]["owner"], "ops");
    assert_eq!(v["task"]["ticket"], "OPS-12");
}

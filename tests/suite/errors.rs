//! Errors a user meets: what happened, to what, and what to do next.

use super::support::*;

#[test]
fn no_workspace_says_to_run_init() {
    let p = Project::bare();
    let out = p.coord(&["status"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("error: no coord workspace found in "), "{err}");
    assert!(err.contains("hint: run `coord init`"), "{err}");
}

#[test]
fn root_flag_and_environment_name_the_workspace() {
    let p = Project::new();
    let elsewhere = Project::bare();
    let root = p.root();
    let out = elsewhere.coord(&["--root", root.to_str().unwrap(), "status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = elsewhere
        .command(&["status"])
        .env("COORD_ROOT", &root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = elsewhere.coord(&["--root", elsewhere.path().to_str().unwrap(), "status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("is not a coord workspace"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn init_twice_is_harmless_and_commands_find_the_workspace_from_a_subfolder() {
    let p = Project::new();
    p.queue(r#"{"id":"kept","description":"x"}"#);
    let out = p.coord(&["init"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        p.root().canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(p.count("pending"), 1, "init kept the queue");
    let sub = p.path().join("deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    let out = p
        .command(&["status", "--json"])
        .current_dir(&sub)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mode = std::fs::metadata(p.root())
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
        .unwrap();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn an_invalid_worker_id_is_refused_with_the_rule() {
    let p = Project::new();
    let out = p.coord(&["worker", "--id", "../escape"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("invalid worker id \"../escape\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    let out = p.coord(&["queue"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn init_refuses_a_folder_that_does_not_exist_instead_of_creating_the_path() {
    let p = Project::bare();
    let missing = p.path().join("no/such/project");
    let out = p.coord(&["init", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not an existing folder; create it first"),
        "{}",
        stderr(&out)
    );
    assert!(!p.path().join("no").exists(), "nothing was created");
}

#[test]
fn a_root_that_names_the_project_instead_of_its_workspace_gets_a_did_you_mean() {
    let p = Project::new();
    let out = p.coord(&["--root", p.path().to_str().unwrap(), "status"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("hint: did you mean {}?", p.root().display())),
        "{}",
        stderr(&out)
    );
}

//! `coord init --shared GROUP`: a workspace a team's users share, trusting the group and no one
//! else.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::support::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

/// A group this user belongs to: the group of a file it just created.
fn my_group(p: &Project) -> u32 {
    std::fs::metadata(p.write("probe", "")).unwrap().gid()
}

#[test]
fn a_shared_workspace_is_group_accessible_and_its_group_is_trusted() {
    let p = Project::bare();
    let gid = my_group(&p);
    let out = p.coord(&["init", "--shared", &gid.to_string(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sharedGid"], gid);
    for folder in [
        "",
        "pending",
        "assigned",
        "completed",
        "reports",
        "tmp",
        "workers",
    ] {
        let path = p.root().join(folder);
        assert_eq!(mode(&path), 0o2770, "{}", path.display());
        assert_eq!(std::fs::metadata(&path).unwrap().gid(), gid);
    }
    p.queue(r#"{"id":"team-task","description":"x","command":"touch ran"}"#);
    let out = p.coord(&["worker", "--id", "alice", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        p.path().join("ran").exists(),
        "a group-writable folder of the workspace's group is trusted"
    );
    for file in [
        "completed/team-task.json",
        "reports/team-task.json",
        "logs/alice.log",
        "workers/alice.json",
    ] {
        let path = p.root().join(file);
        assert_eq!(mode(&path), 0o660, "{}", path.display());
        assert_eq!(std::fs::metadata(&path).unwrap().gid(), gid, "{file}");
    }
    assert_eq!(mode(&p.root().join("assigned/alice")), 0o2770);

    // Writable by others is never trusted, shared or not.
    let pending = p.root().join("pending");
    std::fs::set_permissions(&pending, std::fs::Permissions::from_mode(0o2777)).unwrap();
    p.queue(r#"{"id":"planted","description":"x","command":"touch planted-ran"}"#);
    let out = p.coord(&["worker", "--id", "alice", "--quiet"]);
    assert_eq!(out.status.code(), Some(8));
    assert!(
        stderr(&out).contains("writable by others"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("run `chmod o-w "), "{}", stderr(&out));
    assert!(!p.path().join("planted-ran").exists());
    std::fs::set_permissions(&pending, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let out = p.coord(&["doctor"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn a_task_file_writable_by_another_group_is_not_run_in_a_shared_workspace() {
    let p = Project::bare();
    let gid = my_group(&p);
    assert!(
        p.coord(&["init", "--shared", &gid.to_string()])
            .status
            .success()
    );
    let planted = p.root().join("pending/planted.json");
    std::fs::write(
        &planted,
        r#"{"id":"planted","description":"x","command":"touch ran"}"#,
    )
    .unwrap();
    let other = if gid == 0 { 1 } else { 0 };
    if std::os::unix::fs::chown(&planted, None, Some(other)).is_err() {
        eprintln!("skipped: this user cannot give a file another group (needs root)");
        return;
    }
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o660)).unwrap();
    let out = p.coord(&["worker", "--id", "bob", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!p.path().join("ran").exists());
    let r = p.report("invalid/planted.invalid");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("writable by its group (gid"),
        "{r}"
    );
}

#[test]
fn sharing_names_an_existing_group_and_is_chosen_at_creation() {
    let p = Project::bare();
    let out = p.coord(&["init", "--shared", "no-such-group-here"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("there is no group \"no-such-group-here\""),
        "{}",
        stderr(&out)
    );
    assert!(!p.root().exists(), "nothing was created");

    assert!(p.coord(&["init"]).status.success());
    let gid = my_group(&p).to_string();
    let out = p.coord(&["init", "--shared", &gid]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("already exists as a private workspace"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mode(&p.root()), 0o700);
}

//! A full or read-only workspace: a clear error, nothing half-done, and the work goes on once
//! the disk is fixed. Each scenario runs in its own mount namespace (`unshare`) on a small
//! tmpfs, so it can fill or remount the file system without root on the host.

use std::process::Command;

use super::support::*;

/// Runs `script` with `sh` inside new user and mount namespaces, `$C` naming coord and the
/// current directory a fresh tmpfs of `size`; None (with a message) where namespaces are not
/// available.
fn in_own_mount(size: &str, script: &str) -> Option<String> {
    let setup = format!(
        "set -u; D=$(mktemp -d); mount -t tmpfs -o size={size} tmpfs \"$D\" && cd \"$D\" || exit 99\n"
    );
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(setup + script)
        .env("C", env!("CARGO_BIN_EXE_coord"))
        .env("NO_COLOR", "1")
        .env_remove("COORD_ROOT")
        .env_remove("COORD_WORKER_ID")
        .output()
        .ok()?;
    if out.status.code() == Some(99) || stderr(&out).contains("unshare failed") {
        eprintln!(
            "skipped: cannot mount a tmpfs in a new namespace here: {}",
            stderr(&out)
        );
        return None;
    }
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    Some(stdout(&out) + &stderr(&out))
}

const COUNTS: &str = r#"echo "counts pending=$(ls .coord/pending | wc -l) completed=$(ls .coord/completed | wc -l) reports=$(ls .coord/reports | wc -l) tmp=$(ls .coord/tmp | wc -l)""#;

#[test]
fn a_full_disk_queues_nothing_half_and_the_work_goes_on_once_space_is_freed() {
    let script = format!(
        r#"
$C init >/dev/null
i=0; while [ $i -lt 60 ]; do printf '{{"id":"t%03d","description":"x","command":"if [ $COORD_TASK_ID = t005 ] && [ $COORD_ATTEMPT = 1 ]; then dd if=/dev/zero of=filler bs=4k 2>/dev/null; fi; true"}}\n' $i; i=$((i+1)); done > ../tasks.jsonl
dd if=/dev/zero of=filler bs=4k 2>/dev/null
$C queue ../tasks.jsonl; echo "queue-on-full exit=$?"
{COUNTS}
rm filler
$C queue ../tasks.jsonl >/dev/null; echo "queue exit=$?"
$C worker --id w --quiet; echo "worker-filling exit=$?"
{COUNTS}
$C doctor >/dev/null; echo "doctor exit=$?"
rm filler
$C worker --id w --quiet; echo "worker exit=$?"
{COUNTS}
$C doctor >/dev/null; echo "doctor exit=$?"
"#
    );
    let Some(out) = in_own_mount("2m", &script) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    let find = |prefix: &str| -> Vec<&str> {
        lines
            .iter()
            .filter(|l| l.starts_with(prefix))
            .copied()
            .collect()
    };
    assert_eq!(find("queue-on-full"), ["queue-on-full exit=1"], "{out}");
    assert!(out.contains("No space left on device"), "{out}");
    assert!(out.contains("hint: the file system is full"), "{out}");
    assert_eq!(
        find("counts"),
        [
            "counts pending=0 completed=0 reports=0 tmp=0",
            "counts pending=54 completed=5 reports=5 tmp=0",
            "counts pending=0 completed=60 reports=60 tmp=0",
        ],
        "{out}"
    );
    assert_eq!(find("queue exit"), ["queue exit=0"], "{out}");
    assert_eq!(find("worker-filling"), ["worker-filling exit=1"], "{out}");
    assert_eq!(find("worker exit"), ["worker exit=0"], "{out}");
    assert_eq!(find("doctor"), ["doctor exit=0", "doctor exit=0"], "{out}");
}

#[test]
fn a_read_only_workspace_is_refused_clearly_and_still_readable() {
    let script = format!(
        r#"
$C init >/dev/null
printf '{{"id":"a","description":"x","command":"true"}}\n{{"id":"b","description":"x","command":"true"}}\n' > ../one.jsonl
printf '{{"id":"c","description":"x","command":"true"}}\n' > ../two.jsonl
$C queue ../one.jsonl >/dev/null
mount -o remount,ro "$D"
$C queue ../two.jsonl; echo "queue-ro exit=$?"
$C worker --id w --quiet; echo "worker-ro exit=$?"
$C status --json >/dev/null; echo "status-ro exit=$?"
mount -o remount,rw "$D"
{COUNTS}
$C queue ../two.jsonl >/dev/null; echo "queue exit=$?"
$C worker --id w --quiet; echo "worker exit=$?"
{COUNTS}
mount -o remount,ro "$D"
$C status --json >/dev/null; echo "status-ro-with-a-worker exit=$?"
$C doctor >/dev/null; echo "doctor-ro exit=$?"
"#
    );
    let Some(out) = in_own_mount("2m", &script) else {
        return;
    };
    for expected in [
        "queue-ro exit=1",
        "worker-ro exit=1",
        "status-ro exit=0",
        "counts pending=2 completed=0 reports=0 tmp=0",
        "queue exit=0",
        "worker exit=0",
        "counts pending=0 completed=3 reports=3 tmp=0",
        "status-ro-with-a-worker exit=0",
        "doctor-ro exit=0",
    ] {
        assert!(
            out.lines().any(|l| l == expected),
            "no {expected:?} in:\n{out}"
        );
    }
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(
        out.contains("hint: the workspace's file system is read-only"),
        "{out}"
    );
}

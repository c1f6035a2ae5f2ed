//! Snooze (`release --for/--until`) and progress (`heartbeat --progress`).

use std::time::{Duration, Instant};

use super::support::*;

#[test]
fn a_snoozed_task_uses_no_attempt_and_is_not_claimed_before_its_time() {
    let p = Project::new();
    p.queue(r#"{"id":"s","description":"x"}"#);
    let v = json_of(&p, &["next", "--worker", "limited", "--json"]);
    assert_eq!(v["attempt"], 1);
    let released = Instant::now();
    let out = p.coord(&["release", "s", "--worker", "limited", "--for", "2s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("not claimed before"),
        "{}",
        stdout(&out)
    );
    let show = json_of(&p, &["show", "s", "--json"]);
    assert!(show["snoozedUntil"].is_string(), "{show}");
    assert_eq!(
        p.coord(&["next", "--worker", "other"]).status.code(),
        Some(10)
    );
    // `next --wait` wakes itself at the snooze's end.
    let v = json_of(&p, &["next", "--worker", "other", "--wait=20", "--json"]);
    assert!(
        released.elapsed() >= Duration::from_secs(2),
        "claimed after {:?}",
        released.elapsed()
    );
    assert_eq!(v["taskId"], "s");
    assert_eq!(v["attempt"], 1, "a snooze uses no attempt");
    let show = json_of(&p, &["show", "s", "--json"]);
    assert_eq!(show["history"][0]["outcome"], "released");
    assert_eq!(show["history"][0]["counted"], false);
    assert!(
        show["history"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("snoozed by limited until")
    );
}

#[test]
fn a_task_snoozed_until_a_time_waits_for_it_and_bad_times_are_refused() {
    let p = Project::new();
    p.queue(r#"{"id":"s","description":"x"}"#);
    json_of(&p, &["next", "--worker", "w", "--json"]);
    let out = p.coord(&["release", "s", "--worker", "w", "--until", "tomorrow"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = p.coord(&[
        "release",
        "s",
        "--worker",
        "w",
        "--until",
        "2999-01-01T00:00:00Z",
        "--for",
        "1h",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = p.coord(&[
        "release",
        "s",
        "--worker",
        "w",
        "--until",
        "2999-01-01T00:00:00Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.coord(&["next", "--worker", "w2"]).status.code(), Some(10));
    // A watching worker leaves it alone too.
    let out = p.coord(&["worker", "--id", "batch", "--exec", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.count("pending"), 1);
}

#[test]
fn progress_and_notes_show_in_status_and_show() {
    let p = Project::new();
    p.queue(r#"{"id":"long","description":"x"}"#);
    json_of(&p, &["next", "--worker", "w", "--json"]);
    let out = p.coord(&[
        "heartbeat",
        "--worker",
        "w",
        "--progress",
        "40",
        "--note",
        "parsed the input",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let st = p.status();
    assert_eq!(st["workers"][0]["progress"], 40);
    let text = stdout(&p.coord(&["status"]));
    assert!(text.contains("long 40%"), "{text}");
    let show = json_of(&p, &["show", "long", "--json"]);
    assert_eq!(show["progress"], 40);
    assert_eq!(show["lastNote"]["text"], "parsed the input");
    let out = p.coord(&["heartbeat", "--worker", "w", "--progress", "101"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Progress belongs to a claim: a release clears it.
    assert!(
        p.coord(&["release", "long", "--worker", "w"])
            .status
            .success()
    );
    assert!(json_of(&p, &["show", "long", "--json"])["progress"].is_null());
}

#[test]
fn kill_9_inside_a_snooze_leaves_the_task_held_or_snoozed() {
    for point in ["released:rewritten", "released:moved"] {
        let p = Project::new();
        p.queue(r#"{"id":"z","description":"x"}"#);
        json_of(&p, &["next", "--worker", "w", "--json"]);
        crash_at(&p, point, &["release", "z", "--worker", "w", "--for", "1h"]);
        assert_consistent(&p);
        if p.files("assigned/w") == ["z.json"] {
            let out = p.coord(&["release", "z", "--worker", "w", "--for", "1h"]);
            assert!(out.status.success(), "{point}: {}", stderr(&out));
        }
        let show = json_of(&p, &["show", "z", "--json"]);
        assert_eq!(show["state"], "pending", "{point}");
        assert!(show["snoozedUntil"].is_string(), "{point}: {show}");
        assert_eq!(
            p.coord(&["next", "--worker", "x"]).status.code(),
            Some(10),
            "{point}"
        );
        assert_eq!(show["attempt"], 1, "{point}");
    }
}

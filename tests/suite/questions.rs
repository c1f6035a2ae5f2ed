//! Questions: a holder asks, the task waits in waiting/ (no attempt, no lease), an answer sends
//! it back to the asker or, when the asker is gone, to the next worker; with `kill -9` at each
//! step of both moves.

use std::time::Duration;

use super::support::*;

const BOUND: Duration = Duration::from_secs(20);

#[test]
fn a_question_parks_the_task_and_the_answer_comes_back_to_the_asker_in_the_same_claim() {
    let p = Project::new();
    p.queue(r#"{"id":"q1","description":"paint the shed"}"#);
    let v = json_of(&p, &["next", "--worker", "agent", "--json"]);
    let token = v["token"].as_str().unwrap().to_string();
    let out = p.coord(&[
        "ask",
        "q1",
        "--worker",
        "agent",
        "--token",
        &token,
        "Which colour?",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("waiting"), ["q1.json"]);
    assert!(p.files("assigned/agent").is_empty());

    let st = p.status();
    assert_eq!(st["counts"]["waiting"], 1);
    assert_eq!(st["questions"][0]["taskId"], "q1");
    assert_eq!(st["questions"][0]["workerId"], "agent");
    assert_eq!(st["questions"][0]["question"], "Which colour?");
    let text = stdout(&p.coord(&["status"]));
    assert!(
        text.contains("agent asks about q1: Which colour?"),
        "{text}"
    );
    let qs = json_of(&p, &["questions", "--json"]);
    assert_eq!(qs["questions"][0]["taskId"], "q1");
    let show = json_of(&p, &["show", "q1", "--json"]);
    assert_eq!(show["state"], "waiting");
    assert_eq!(show["workerId"], "agent");

    // The asker may take other work meanwhile; nothing else is ready, so it gets nothing.
    assert_eq!(
        p.coord(&["next", "--worker", "agent"]).status.code(),
        Some(10)
    );
    // Nobody else can complete or claim it while it waits.
    let out = p.coord(&["complete", "q1", "--worker", "agent", "--token", &token]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("q1 is waiting for the answer"),
        "{}",
        stderr(&out)
    );

    let out = p.coord(&["answer", "q1", "Barn red.", "--by", "alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("back with agent"), "{}", stdout(&out));
    assert_eq!(p.files("assigned/agent"), ["q1.json"]);
    let v = json_of(&p, &["next", "--worker", "agent", "--json"]);
    assert_eq!(v["alreadyHeld"], true);
    assert_eq!(v["token"], token.as_str(), "the same claim goes on");
    assert_eq!(v["attempt"], 1);
    assert_eq!(v["answer"]["text"], "Barn red.");
    assert_eq!(v["answer"]["by"], "alice");
    assert_eq!(v["question"]["text"], "Which colour?");
    let text = stdout(&p.coord(&["next", "--worker", "agent", "--text"]));
    assert!(
        text.contains("answer:       Barn red. (from alice)"),
        "{text}"
    );

    let out = p.coord(&["complete", "q1", "--worker", "agent", "--token", &token]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.report("q1")["attempt"], 1, "a question uses no attempt");
    let events = stdout(&p.coord(&["events", "--json"]));
    assert!(events.contains(r#""event":"asked""#), "{events}");
    assert!(events.contains(r#""event":"answered""#), "{events}");
    // Human action happened between claim and completion.
    assert_eq!(json_of(&p, &["stats", "--json"])["automationRate"], 0.0);
}

#[test]
fn no_lease_runs_on_a_waiting_task_and_a_gone_asker_s_answer_goes_to_the_next_worker() {
    let p = Project::new();
    assert!(p.coord(&["config", "leaseSecs", "1"]).status.success());
    p.queue(r#"[{"id":"asked","description":"x","leaseSecs":1},{"id":"held","description":"y","leaseSecs":1}]"#);
    json_of(&p, &["next", "--worker", "sleepy", "--json"]);
    json_of(&p, &["next", "--worker", "other", "--json"]);
    let out = p.coord(&[
        "ask",
        "asked",
        "--worker",
        "sleepy",
        "Is the deadline Friday?",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Hand the second task to sleepy too, so its lease visibly runs out beside the question.
    assert!(
        p.coord(&["release", "held", "--worker", "other"])
            .status
            .success()
    );
    json_of(&p, &["next", "--worker", "sleepy", "--json"]);
    assert!(p.coord(&["pause"]).status.success());
    let mut keeper = p.spawn(&[
        "worker", "--id", "keeper", "--watch", "--rescan", "1", "--quiet",
    ]);
    assert!(p.wait(BOUND, || {
        p.files("pending").iter().any(|n| n.ends_with(".held.json"))
    }));
    signal(&keeper, "TERM");
    assert!(keeper.wait().unwrap().success());
    // sleepy's lease ran out on the task it held; the one it asked about is still waiting.
    assert_eq!(p.files("waiting"), ["asked.json"]);

    let out = p.coord(&["answer", "asked", "Yes, Friday."]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("back in pending/ with the answer"),
        "{}",
        stdout(&out)
    );
    assert!(p.coord(&["resume"]).status.success());
    let v = json_of(&p, &["next", "--worker", "fresh", "--json"]);
    let v = match v["taskId"] == "asked" {
        true => v,
        false => json_of(&p, &["next", "--worker", "fresh2", "--json"]),
    };
    assert_eq!(v["taskId"], "asked");
    assert_eq!(v["attempt"], 1, "no attempt used by the question");
    assert_eq!(v["answer"]["text"], "Yes, Friday.");
    let show = json_of(&p, &["show", "asked", "--json"]);
    assert_eq!(show["history"][0]["outcome"], "asked");
    assert_eq!(show["history"][0]["counted"], false);
}

#[test]
fn a_command_that_asks_is_stopped_and_runs_again_with_the_answer() {
    let p = Project::new();
    let coord = env!("CARGO_BIN_EXE_coord");
    let command = format!(
        r#"if [ -n \"$COORD_ANSWER\" ]; then printf '%s' \"$COORD_ANSWER\" > colour.txt; else {coord} ask \"$COORD_TASK_ID\" 'Which colour?' && sleep 60; fi"#
    );
    p.queue(&format!(
        r#"{{"id":"c1","description":"x","command":"{command}","outputFiles":["colour.txt"]}}"#
    ));
    let mut worker = p.spawn(&["worker", "--id", "runner", "--watch", "--quiet"]);
    assert!(p.wait(BOUND, || p.files("waiting") == ["c1.json"]));
    let out = p.coord(&["answer", "c1", "green"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.wait(BOUND, || p.count("completed") == 1));
    signal(&worker, "TERM");
    assert!(worker.wait().unwrap().success());
    assert_eq!(
        std::fs::read_to_string(p.path().join("colour.txt")).unwrap(),
        "green"
    );
    assert_eq!(p.report("c1")["attempt"], 1);
    let log = std::fs::read_to_string(p.root().join("logs/runner.log")).unwrap();
    assert!(
        log.contains("c1 asked a question (waiting/); its command was stopped"),
        "{log}"
    );
}

#[test]
fn questions_and_answers_are_checked_before_anything_moves() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    json_of(&p, &["next", "--worker", "w", "--json"]);
    let out = p.coord(&["ask", "t", "--worker", "w", "  "]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let out = p.coord(&["ask", "t", "--worker", "intruder", "why?"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("t is held by w, not intruder"),
        "{}",
        stderr(&out)
    );
    let out = p.coord(&["answer", "t", "yes"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("t is assigned to w, not waiting for an answer"),
        "{}",
        stderr(&out)
    );
    let out = p.coord(&["answer", "../../etc/passwd", "yes"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(p.files("assigned/w"), ["t.json"]);
}

#[test]
fn kill_9_inside_ask_and_answer_leaves_the_task_in_one_state_and_a_rerun_finishes() {
    for point in ["asked:rewritten", "asked:moved"] {
        let p = Project::new();
        p.queue(r#"{"id":"k","description":"x"}"#);
        json_of(&p, &["next", "--worker", "w", "--json"]);
        crash_at(&p, point, &["ask", "k", "--worker", "w", "colour?"]);
        assert_consistent(&p);
        if p.files("assigned/w") == ["k.json"] {
            // Killed before the move: still held, asked again from scratch.
            let out = p.coord(&["ask", "k", "--worker", "w", "colour?"]);
            assert!(out.status.success(), "{point}: {}", stderr(&out));
        }
        assert_eq!(p.files("waiting"), ["k.json"], "{point}");
        assert!(p.coord(&["answer", "k", "red"]).status.success());
        assert_consistent(&p);
    }
    for point in ["answered:rewritten", "answered:moved"] {
        let p = Project::new();
        p.queue(r#"{"id":"k","description":"x"}"#);
        json_of(&p, &["next", "--worker", "w", "--json"]);
        assert!(
            p.coord(&["ask", "k", "--worker", "w", "colour?"])
                .status
                .success()
        );
        crash_at(&p, point, &["answer", "k", "red"]);
        assert_consistent(&p);
        if p.files("waiting") == ["k.json"] {
            let out = p.coord(&["answer", "k", "red"]);
            assert!(out.status.success(), "{point}: {}", stderr(&out));
        }
        assert_eq!(p.files("assigned/w"), ["k.json"], "{point}");
        let v = json_of(&p, &["next", "--worker", "w", "--json"]);
        assert_eq!(
            v["answer"]["text"], "red",
            "{point}: the answer is never lost"
        );
        assert_consistent(&p);
    }
}

#[test]
fn cancelling_a_waiting_task_fails_it_and_an_answer_then_says_where_it_is() {
    let p = Project::new();
    p.queue(r#"{"id":"t","description":"x"}"#);
    json_of(&p, &["next", "--worker", "w", "--json"]);
    assert!(
        p.coord(&["ask", "t", "--worker", "w", "?"])
            .status
            .success()
    );
    let out = p.coord(&["cancel", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(p.files("failed"), ["t.json"]);
    assert!(
        p.report("t")["reason"]
            .as_str()
            .unwrap()
            .contains("which w held while it waited")
    );
    let out = p.coord(&["answer", "t", "too late"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("t is failed, not waiting"),
        "{}",
        stderr(&out)
    );
    assert_consistent(&p);
}

#[test]
fn an_answer_sent_back_to_an_asker_that_then_vanishes_reaches_the_next_worker() {
    let p = Project::new();
    p.queue(r#"{"id":"v","description":"x","leaseSecs":1}"#);
    json_of(&p, &["next", "--worker", "vanishing", "--json"]);
    assert!(
        p.coord(&["ask", "v", "--worker", "vanishing", "Which port?"])
            .status
            .success()
    );
    // The asker's lease still runs: the answer goes back to it.
    let out = p.coord(&["answer", "v", "8080"]);
    assert!(
        stdout(&out).contains("back with vanishing"),
        "{}",
        stdout(&out)
    );
    // It never comes back: its lease runs out and a worker takes the task back.
    assert!(p.coord(&["pause"]).status.success());
    let mut keeper = p.spawn(&[
        "worker", "--id", "keeper", "--watch", "--rescan", "1", "--quiet",
    ]);
    assert!(p.wait(BOUND, || {
        p.files("pending").iter().any(|n| n.ends_with(".v.json"))
    }));
    signal(&keeper, "TERM");
    assert!(keeper.wait().unwrap().success());
    assert!(p.coord(&["resume"]).status.success());
    let v = json_of(&p, &["next", "--worker", "heir", "--json"]);
    assert_eq!(v["answer"]["text"], "8080", "the answer is never lost");
    assert_eq!(v["question"]["text"], "Which port?");
}

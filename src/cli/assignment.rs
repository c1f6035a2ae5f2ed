//! How an assignment (a task handed to an agent or a person) is printed: JSON for programs,
//! text for people, and the words a stop hook gives a chat.

use crate::verbs::handoff::Assignment;
use serde_json::{Value, json};

/// The JSON object `coord next --json` and a listener print for an assignment.
pub fn to_json(a: &Assignment) -> Value {
    json!({
        "status": "claimed",
        "workerId": a.worker,
        "taskId": a.task.spec.id,
        "token": a.token,
        "attempt": a.attempt,
        "maxAttempts": a.task.spec.max_attempts(),
        "alreadyHeld": a.already_held,
        "leaseSecs": a.lease_secs,
        "taskFile": a.task_file,
        "projectDir": a.project_dir,
        "task": a.task.spec,
        "lastNote": a.task.coord.last_note,
        "question": a.task.coord.question,
        "answer": a.task.coord.answer,
        "complete": a.complete_command(),
    })
}

/// The assignment as text for a person or an agent, ending with the commands that finish it.
pub fn to_text(a: &Assignment) -> String {
    let spec = &a.task.spec;
    let mut out = describe(a);
    out.push_str(&format!(
        "when done:  {}\ncannot do it: coord fail {id} --worker {w} --reason \"...\"   or hand it back: coord release {id} --worker {w}\nneed an answer: coord ask {id} --worker {w} \"question\"   (it comes back to you with the answer)\n",
        a.complete_command(),
        id = spec.id,
        w = a.worker,
    ));
    out
}

/// The assignment as text: the task, its files and checks, where it is.
pub fn describe(a: &Assignment) -> String {
    let spec = &a.task.spec;
    let mut out = format!(
        "{}  (attempt {} of {}, token {}{})\n  {}\n",
        spec.id,
        a.attempt,
        spec.max_attempts(),
        a.token,
        if a.already_held {
            ", already yours"
        } else {
            ""
        },
        spec.description
    );
    if !spec.target_files.is_empty() {
        out.push_str(&format!(
            "  target files: {}\n",
            spec.target_files.join(", ")
        ));
    }
    if !spec.output_files.is_empty() {
        out.push_str(&format!(
            "  output files: {}\n",
            spec.output_files.join(", ")
        ));
    }
    if let Some(acceptance) = spec.extra.get("acceptance") {
        out.push_str(&format!("  acceptance:   {acceptance}\n"));
    }
    if let Some(note) = &a.task.coord.last_note {
        out.push_str(&format!(
            "  last note:    {} (worker {}, attempt {})\n",
            note.text, note.worker, note.attempt
        ));
    }
    if let (Some(q), Some(answer)) = (&a.task.coord.question, &a.task.coord.answer) {
        out.push_str(&format!(
            "  you asked:    {} (worker {})\n",
            q.text, q.worker
        ));
        out.push_str(&format!(
            "  answer:       {} (from {})\n",
            answer.text, answer.by
        ));
    }
    out.push_str(&format!("  task file:    {}\n", a.task_file.display()));
    out.push_str(&format!("  project:      {}\n", a.project_dir.display()));
    out
}

/// What a stop hook tells a chat that has just been given a task.
pub fn instruction(a: &Assignment) -> String {
    format!(
        "coord: your next task is {id} (you are worker {w}).\n\n{task}\n\
         Do the task in {project}. When it is done, run:\n  {complete}\n\
         If a check fails, fix the work and run it again. If you cannot do it, run\n  \
         coord fail {id} --worker {w} --reason \"why\"   (or hand it back: coord release {id} --worker {w})\n\
         Then end your turn: the next task will be given to you. If this session ends first, the task stays \
         yours for {lease}s after your last coord command; resume with `coord next --worker {w}`.",
        id = a.task.spec.id,
        w = a.worker,
        task = to_text(a),
        project = a.project_dir.display(),
        complete = a.complete_command(),
        lease = a.lease_secs,
    )
}

/// What a stop hook tells a chat that still holds a task.
pub fn reminder(a: &Assignment) -> String {
    format!(
        "coord: you still hold task {id} (worker {w}). Finish it and run `{complete}`, or run \
         `coord fail {id} --worker {w} --reason \"why\"` or `coord release {id} --worker {w}`, then end your turn.\n\n{task}",
        id = a.task.spec.id,
        w = a.worker,
        complete = a.complete_command(),
        task = to_text(a),
    )
}

//! `coord answer`, `coord questions`, `coord send`, `coord inbox` and `coord feedback`: the
//! conversation between workers and the coordinator.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::fs::workspace::Workspace;
use crate::state::AnswerTo;
use crate::verbs::messages::{self, Inbox, Kind, Message, To};
use crate::verbs::questions;

use super::table::{ago, clip, wrap};
use crate::base::ids;
use crate::base::time;
use crate::policy::lease;

/// Arguments of `coord answer`.
#[derive(Debug, clap::Args)]
pub struct AnswerArgs {
    /// The waiting task.
    task: String,
    /// The answer.
    text: String,
    /// Who answers, as the asker will see it.
    #[arg(long, default_value = messages::COORDINATOR)]
    by: String,
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
}

/// Answers a waiting task's question and sends it back.
pub fn answer(root: Option<PathBuf>, args: AnswerArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let done = questions::answer(&ws, &args.task, &args.by, &args.text)?;
    if args.json {
        let state = match done.to {
            AnswerTo::Asker => "assigned",
            AnswerTo::Pending => "pending",
        };
        super::print_json(
            &serde_json::json!({"taskId": args.task, "workerId": done.asker, "state": state}),
        )?;
        return Ok(ExitCode::Success);
    }
    match done.to {
        AnswerTo::Asker => say!(
            "answered {}: back with {} (its next `coord next` hands it over with the answer)",
            args.task,
            done.asker
        ),
        AnswerTo::Pending => say!(
            "answered {}: {} is gone or runs commands, so the task is back in pending/ with the answer for the next worker (no attempt used)",
            args.task,
            done.asker
        ),
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord questions`.
#[derive(Debug, clap::Args)]
pub struct QuestionsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Lists the open questions, oldest first.
pub fn list_questions(root: Option<PathBuf>, args: QuestionsArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let open = questions::open(&ws)?;
    if args.json {
        super::print_json(&serde_json::json!({"questions": open}))?;
        return Ok(ExitCode::Success);
    }
    if open.is_empty() {
        say!("no open questions");
    }
    for q in &open {
        say!(
            "{}  asked by {}, {} ago",
            clip(&q.task_id, 32),
            clip(&q.worker_id, 24),
            ago(Some(q.asked_at))
        );
        for line in wrap(&q.question, 76) {
            say!("  {line}");
        }
    }
    if !open.is_empty() {
        say!("answer with `coord answer TASK \"...\"`");
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The text.
    text: String,
    /// A worker id, `coordinator`, or `all` (every worker with a record).
    #[arg(long)]
    to: String,
    /// The task it is about.
    #[arg(long)]
    task: Option<String>,
    /// Who sends it: a worker id (or COORD_WORKER_ID); default `coordinator`.
    #[arg(long = "from", env = "COORD_WORKER_ID", default_value = messages::COORDINATOR)]
    from: String,
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
}

/// Sends one message.
pub fn send(root: Option<PathBuf>, args: SendArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let to = To::parse(&args.to)?;
    let sent = messages::send(
        &ws,
        &args.from,
        &to,
        Kind::Message,
        args.task.as_deref(),
        &args.text,
    )?;
    if let To::One(Inbox::Worker(worker)) = &to
        && lease::read_record(&ws, worker).is_none()
    {
        say_err!(
            "warning: no worker named {worker} has run here; the message waits in its inbox until one does (`coord status` lists the workers)"
        );
    }
    if args.json {
        let names: Vec<&str> = sent.iter().map(Inbox::name).collect();
        super::print_json(&serde_json::json!({"sentTo": names}))?;
    } else if sent.is_empty() {
        say!("no worker has a record yet: nobody to send to");
    } else {
        let names: Vec<&str> = sent.iter().map(Inbox::name).collect();
        say!("sent to {}", names.join(", "));
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord feedback`.
#[derive(Debug, clap::Args)]
pub struct FeedbackArgs {
    /// The feedback: what went well, what got in the way, what the coordinator should change.
    text: String,
    /// The worker giving it (or COORD_WORKER_ID).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: String,
    /// The task it is about.
    #[arg(long)]
    task: Option<String>,
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
}

/// Leaves feedback in the coordinator's inbox.
pub fn feedback(root: Option<PathBuf>, args: FeedbackArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    ids::check_worker_id(&args.worker)?;
    messages::send(
        &ws,
        &args.worker,
        &To::One(Inbox::Coordinator),
        Kind::Feedback,
        args.task.as_deref(),
        &args.text,
    )?;
    match args.json {
        true => super::print_json(&serde_json::json!({"sentTo": [messages::COORDINATOR]}))?,
        false => say!("feedback left for the coordinator (`coord inbox` reads it)"),
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord inbox`.
#[derive(Debug, clap::Args)]
pub struct InboxArgs {
    /// Read this worker's inbox (default: the coordinator's).
    #[arg(long)]
    worker: Option<String>,
    /// Only the unread messages.
    #[arg(long)]
    unread: bool,
    /// Leave the messages unread.
    #[arg(long)]
    peek: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints an inbox, oldest first, and marks what it printed read.
pub fn inbox(root: Option<PathBuf>, args: InboxArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let inbox = Inbox::of(args.worker.as_deref().unwrap_or(messages::COORDINATOR))?;
    let found = messages::read(&ws, &inbox, !args.unread)?;
    if args.json {
        super::print_json(&serde_json::json!({
            "inbox": inbox.name(),
            "messages": found,
        }))?;
    } else if found.is_empty() {
        say!(
            "no {}messages for {}",
            if args.unread { "unread " } else { "" },
            inbox.name()
        );
    } else {
        say_part!("{}", render(&found));
    }
    if !args.peek {
        messages::mark_read(&ws, &inbox, &found)?;
    }
    Ok(ExitCode::Success)
}

/// Messages as text, one block each.
pub fn render(found: &[Message]) -> String {
    let mut out = String::new();
    for m in found {
        let about = m
            .header
            .task_id
            .as_ref()
            .map(|t| format!(" about {t}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} {} from {}{about}, {}{}\n",
            if m.read { " " } else { "*" },
            m.header.kind,
            m.header.from,
            time::format(m.header.sent_at),
            if m.header.to == "all" {
                " (to all)"
            } else {
                ""
            },
        ));
        for line in m.text.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

/// A worker's unread messages, as text for a chat; marked read only by [`Delivery::delivered`],
/// once the text is out, so a crash in between shows them again rather than losing them.
#[derive(Debug, Default)]
pub struct Delivery {
    /// The messages as text (empty when there are none).
    pub text: String,
    inbox: Option<Inbox>,
    messages: Vec<Message>,
}

/// The most messages, and of their text, handed over with a task at once.
const HANDED_MESSAGES: usize = 5;
const HANDED_BYTES: usize = 16 << 10;

impl Delivery {
    /// The oldest unread messages of `worker`, at most five and 16 KiB of text (always one),
    /// none when they cannot be read.
    pub fn unread(ws: &Workspace, worker: &str) -> Delivery {
        let Ok(inbox) = Inbox::of(worker) else {
            return Delivery::default();
        };
        let mut unread = match messages::read(ws, &inbox, false) {
            Ok(m) if !m.is_empty() => m,
            _ => return Delivery::default(),
        };
        // At most a few, oldest first and within a size: the rest stay unread for next time.
        let all = unread.len();
        let mut size = 0;
        let fit = unread
            .iter()
            .take(HANDED_MESSAGES)
            .take_while(|m| {
                size += m.text.len();
                size <= HANDED_BYTES
            })
            .count()
            .max(1);
        unread.truncate(fit);
        let more = match all - fit {
            0 => String::new(),
            n => format!("({n} more unread: `coord inbox --worker {worker}`)\n"),
        };
        Delivery {
            text: format!(
                "coord: {all} unread message(s) for {worker}:\n{}{more}Reply with `coord send --to NAME \"...\" --from {worker}`.\n",
                render(&unread)
            ),
            inbox: Some(inbox),
            messages: unread,
        }
    }

    /// The messages themselves.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Marks the messages read: call once the text has been handed over.
    pub fn delivered(self, ws: &Workspace) {
        if let Some(inbox) = self.inbox
            && let Err(e) = messages::mark_read(ws, &inbox, &self.messages)
        {
            tracing::warn!("cannot mark messages read: {e}");
        }
    }
}

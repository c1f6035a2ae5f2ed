//! `coord-mcp` (started by `coord mcp`): the hand-off verbs as Model Context Protocol tools over stdio, for agents that
//! reach tools through MCP. One server process acts as one worker, fixed for the session (from
//! `--worker` or COORD_WORKER_ID, else a fresh id): no tool takes a worker id, so an agent
//! cannot act as another worker. Every tool calls the same library functions as the command
//! line and answers in the same words; errors an agent should read come back as tool errors.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coord::base::exit::ExitCode;
use coord::verbs::handoff::{self, Assignment, Completion, MAX_WAIT_SECS};
use coord::verbs::queue::Outcome;
use coord::{Error, Workspace};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, ServiceExt, schemars, tool, tool_router};
use serde::Deserialize;

/// Arguments of `coord mcp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The worker id this session acts as (or COORD_WORKER_ID). Without one, the session gets
    /// `mcp-<pid>-<random>` and hands its tasks back when it ends.
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: Option<String>,
    /// This worker's labels (comma-separated): only tasks whose `requires` it has are offered.
    #[arg(long, value_name = "LABELS", value_delimiter = ',')]
    labels: Vec<String>,
}

/// Serves the tools on standard input and output until the client closes them.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = coord::cli::open_workspace(root)?;
    let (worker, chosen) = match args.worker {
        Some(w) => (w, true),
        None => (
            format!(
                "mcp-{}-{:04x}",
                std::process::id(),
                coord::base::host::random_u64() & 0xffff
            ),
            false,
        ),
    };
    coord::base::ids::check_worker_id(&worker)?;
    let server = Server {
        session: Arc::new(Session {
            ws,
            worker,
            labels: args.labels,
            tokens: Mutex::new(HashMap::new()),
            waits: AtomicUsize::new(0),
        }),
    };
    let session = server.session.clone();
    if !chosen {
        // A client that stops the server with a signal (the SDK's way when a call still runs)
        // gets the same end as one that closes stdin: the session's tasks are handed back.
        let ending = server.session.clone();
        coord::sys::signals::forward(move |_| {
            ending.hand_back();
            std::process::exit(ExitCode::Interrupted as i32);
        })?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (to_server, server_in) = tokio::io::duplex(1 << 16);
        let (server_out, from_server) = tokio::io::duplex(1 << 16);
        let (refusals, refused) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(screen_requests(to_server, refusals));
        let writer = tokio::spawn(write_replies(from_server, refused));
        let service = server.serve((server_in, server_out)).await?;
        service.waiting().await?;
        reader.abort();
        writer.await??;
        anyhow::Ok(())
    })?;
    if !chosen {
        session.hand_back();
    }
    Ok(ExitCode::Success)
}

/// The deepest nesting of arrays and objects a request may have: the JSON reader stops at 128
/// levels, and a request it cannot read would otherwise get no answer at all.
const MAX_DEPTH: usize = 100;

/// How deeply `line` nests arrays and objects (brackets inside strings not counted).
fn depth(line: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for b in line.bytes() {
        match (in_string, b) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') => in_string = false,
            (true, _) => {}
            (false, b'"') => in_string = true,
            (false, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Passes each line of stdin on to the server, except a request nested past [`MAX_DEPTH`],
/// which is answered at once with a JSON-RPC error (its id cannot be read: null).
async fn screen_requests(
    mut to_server: tokio::io::DuplexStream,
    refusals: tokio::sync::mpsc::UnboundedSender<String>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if depth(&line) > MAX_DEPTH {
            let error = serde_json::json!({
                "jsonrpc": "2.0",
                "id": null,
                "error": {
                    "code": -32600,
                    "message": format!("invalid request: nested deeper than {MAX_DEPTH} levels"),
                },
            });
            let _ = refusals.send(error.to_string());
            continue;
        }
        to_server.write_all(line.as_bytes()).await?;
        to_server.write_all(b"\n").await?;
    }
    Ok(())
}

/// Writes the server's replies and the screen's refusals to stdout, whole lines each.
async fn write_replies(
    from_server: tokio::io::DuplexStream,
    mut refused: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut replies = tokio::io::BufReader::new(from_server).lines();
    let mut stdout = tokio::io::stdout();
    loop {
        let line = tokio::select! {
            reply = replies.next_line() => match reply? {
                Some(line) => line,
                None => break,
            },
            Some(line) = refused.recv() => line,
        };
        stdout.write_all(line.as_bytes()).await?;
        stdout.write_all(b"\n").await?;
        stdout.flush().await?;
    }
    Ok(())
}

/// One MCP session: the worker it acts as, and the claim tokens of the tasks it took.
struct Session {
    ws: Workspace,
    worker: String,
    labels: Vec<String>,
    tokens: Mutex<HashMap<String, String>>,
    /// How many `next` calls of this session wait for a task now (each holds file watches).
    waits: AtomicUsize,
}

/// The most `next` calls one session may have waiting at once: each holds an inotify instance,
/// which a user has few of (128 by default), and one chat needs one task at a time.
const MAX_WAITS: usize = 4;

/// One waiting `next` call, counted in its session while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Session {
    fn token(&self, id: &str) -> Option<String> {
        self.tokens.lock().ok()?.get(id).cloned()
    }

    fn forget(&self, id: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(id);
        }
    }

    /// Claims the next task (or returns the one held), waiting up to `wait_secs`; unread
    /// messages come first.
    fn next(&self, wait_secs: Option<u64>) -> Result<String, String> {
        let mail = coord::cli::talk::Delivery::unread(&self.ws, &self.worker);
        let answer = self.claim(wait_secs)?;
        let text = match mail.text.is_empty() {
            true => answer,
            false => format!("{answer}\n{}", mail.text),
        };
        mail.delivered(&self.ws);
        Ok(text)
    }

    /// Claims the next task (or returns the one held), waiting up to `wait_secs`.
    fn claim(&self, wait_secs: Option<u64>) -> Result<String, String> {
        let wait = wait_secs
            .filter(|&s| s > 0)
            .map(|s| Duration::from_secs(s.min(MAX_WAIT_SECS)));
        let _waiting = match wait {
            Some(_) => Some(self.start_waiting()?),
            None => None,
        };
        match handoff::next(&self.ws, &self.worker, &self.labels, wait).map_err(|e| text(&e))? {
            Some(a) => {
                if let Ok(mut tokens) = self.tokens.lock() {
                    tokens.insert(a.task.spec.id.clone(), a.token.clone());
                }
                Ok(assignment(&a))
            }
            None if coord::policy::gate::paused(&self.ws) => {
                Ok("the workspace is paused: nothing is handed out until `coord resume`".into())
            }
            None => Ok(format!(
                "no task is ready for {}; call next with wait_secs (at most {MAX_WAIT_SECS}) to \
                 wait for one",
                self.worker
            )),
        }
    }

    /// Counts one more waiting `next`, or refuses it past [`MAX_WAITS`].
    fn start_waiting(&self) -> Result<Waiting<'_>, String> {
        let before = self.waits.fetch_add(1, Ordering::SeqCst);
        let waiting = Waiting(&self.waits);
        match before >= MAX_WAITS {
            true => Err(format!(
                "error: {before} next calls of this session already wait for a task (at most \
                 {MAX_WAITS}); wait for one of them to return, or call next without wait_secs\n"
            )),
            false => Ok(waiting),
        }
    }

    /// Hands back every task this session holds and marks its worker stopped, so that an
    /// answer to its question goes to pending/ (a session with a generated id that ends).
    fn hand_back(&self) {
        let held = handoff::heartbeat(&self.ws, &self.worker, handoff::Beat::default())
            .unwrap_or_default();
        for id in held {
            let token = self.token(&id);
            if let Err(e) = handoff::release(&self.ws, &self.worker, &id, token.as_deref(), None) {
                eprint!("{}", text(&e));
            }
        }
        if let Err(e) = handoff::retire(&self.ws, &self.worker) {
            eprint!("{}", text(&e));
        }
    }
}

/// The text of an assignment for an agent using these tools.
fn assignment(a: &Assignment) -> String {
    format!(
        "{}When done, call complete with task \"{id}\". If a check fails, fix the work and call \
         it again. If you cannot do it, call fail with a reason, or release to hand it back. If \
         you need a person's answer, call ask: the task comes back to you with it.\n",
        coord::cli::assignment::describe(a),
        id = a.task.spec.id
    )
}

/// An error in the words the command line uses.
fn text(err: &Error) -> String {
    match err {
        Error::ChecksFailed { id, failures, .. } => {
            let mut out = format!(
                "error: {id} was not completed: {} of its checks failed\n",
                failures.len()
            );
            for f in failures {
                out.push_str(&format!("  failed: {f}\n"));
            }
            out.push_str(&format!(
                "hint: the task is still yours: fix the work and call complete again, or call \
                 fail with task \"{id}\" and a reason\n"
            ));
            out
        }
        other => coord::cli::error_text(other),
    }
}

/// The MCP server: the tools, over one session.
#[derive(Clone)]
struct Server {
    session: Arc<Session>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct NextParams {
    /// Seconds to wait for a task when none is ready (at most 90); default 0.
    wait_secs: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct CompleteParams {
    /// The task id.
    task: String,
    /// A JSON object kept in the task's report as its result.
    result: Option<serde_json::Map<String, serde_json::Value>>,
    /// A note kept in the task's report.
    note: Option<String>,
    /// Tokens the model read for this task.
    tokens_in: Option<u64>,
    /// Tokens the model wrote for this task.
    tokens_out: Option<u64>,
    /// What the task cost, in US dollars.
    cost_usd: Option<f64>,
    /// How well you used your context, 0 to 100.
    context_efficiency_score: Option<f64>,
    /// Also claim the next task and return it.
    next: Option<bool>,
    /// With next: seconds to wait for a task (at most 90).
    wait_secs: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct FailParams {
    /// The task id.
    task: String,
    /// Why it failed; the next holder reads it.
    reason: String,
    /// False: no more attempts, straight to failed/. Default true.
    retry: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct TaskParams {
    /// The task id.
    task: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ReleaseParams {
    /// The task id.
    task: String,
    /// Snooze: nobody claims it for this many seconds (for a usage limit).
    snooze_secs: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct HeartbeatParams {
    /// Where you are in the work; kept on each held task.
    note: Option<String>,
    /// How far the work is, in percent (0 to 100).
    progress: Option<u8>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AskParams {
    /// The task id.
    task: String,
    /// The question, for a person or the coordinator.
    question: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SendParams {
    /// A worker id, "coordinator", or "all".
    to: String,
    /// The message.
    text: String,
    /// The task it is about.
    task: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct FeedbackParams {
    /// What went well, what got in the way, what the coordinator should change.
    text: String,
    /// The task it is about.
    task: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct QueueParams {
    /// One task object or an array of them, as in a tasks file.
    tasks: serde_json::Value,
}

/// Runs `f` on the session off the async runtime (it may block on files or wait for a task)
/// and turns its answer into a tool result.
async fn blocking(
    session: &Arc<Session>,
    f: impl FnOnce(&Session) -> Result<String, String> + Send + 'static,
) -> Result<CallToolResult, ErrorData> {
    let session = session.clone();
    let answer = tokio::task::spawn_blocking(move || f(&session))
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    Ok(match answer {
        Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
        Err(text) => CallToolResult::error(vec![ContentBlock::text(text)]),
    })
}

#[rmcp::tool_handler(
    name = "coord",
    instructions = "This session is one coord worker. Call next for a task, do it in the project, then call complete (next=true returns the next task in the same call). If you cannot do it, call fail with a reason, or release to hand it back. During long work, call heartbeat."
)]
impl rmcp::ServerHandler for Server {}

#[tool_router]
impl Server {
    #[tool(description = "Claim your next task, or get the one you hold.")]
    async fn next(
        &self,
        Parameters(p): Parameters<NextParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| s.next(p.wait_secs)).await
    }

    #[tool(
        description = "Complete a task you hold: runs its checks; on failure lists every failed check. next=true also returns your next task."
    )]
    async fn complete(
        &self,
        Parameters(p): Parameters<CompleteParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            let usage = coord::model::report::Usage {
                tokens_in: p.tokens_in,
                tokens_out: p.tokens_out,
                cost_usd: p.cost_usd.filter(|c| c.is_finite() && *c >= 0.0),
                context_efficiency_score: p
                    .context_efficiency_score
                    .filter(|c| (0.0..=100.0).contains(c)),
            };
            let req = Completion {
                token: s.token(&p.task),
                result: p.result.map(serde_json::Value::Object),
                note: p.note,
                usage,
            };
            let done = handoff::complete(&s.ws, &s.worker, &p.task, req).map_err(|e| text(&e))?;
            s.forget(&p.task);
            let report = &done.report;
            let done = match done.in_review {
                true => format!(
                    "{} passed its checks (attempt {}); it waits for a reviewer's approval\n",
                    report.task_id, report.attempt
                ),
                false => format!(
                    "completed {} (attempt {}); report {}\n",
                    report.task_id,
                    report.attempt,
                    coord::state::layout::report_path(&s.ws, &report.task_id).display()
                ),
            };
            if p.next != Some(true) {
                return Ok(done);
            }
            Ok(format!("{done}\n{}", s.next(p.wait_secs)?))
        })
        .await
    }

    #[tool(description = "Fail a task you hold: retried while attempts remain.")]
    async fn fail(
        &self,
        Parameters(p): Parameters<FailParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            let token = s.token(&p.task);
            let (d, attempt) = handoff::fail(
                &s.ws,
                &s.worker,
                &p.task,
                token.as_deref(),
                &p.reason,
                p.retry != Some(false),
            )
            .map_err(|e| text(&e))?;
            s.forget(&p.task);
            Ok(match d {
                coord::state::Disposition::Requeued => format!(
                    "failed {} (attempt {attempt}); back in pending/ for attempt {}",
                    p.task,
                    attempt + 1
                ),
                _ => format!(
                    "failed {} (attempt {attempt}); moved to failed/, no more attempts",
                    p.task
                ),
            })
        })
        .await
    }

    #[tool(
        description = "Hand a task you hold back, without using an attempt; snooze_secs keeps it from being claimed for that long (a usage limit)."
    )]
    async fn release(
        &self,
        Parameters(p): Parameters<ReleaseParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            let token = s.token(&p.task);
            let until = p
                .snooze_secs
                .map(|secs| coord::base::host::now() + Duration::from_secs(secs.min(365 * 86_400)));
            handoff::release(&s.ws, &s.worker, &p.task, token.as_deref(), until)
                .map_err(|e| text(&e))?;
            s.forget(&p.task);
            Ok(match until {
                Some(at) => format!(
                    "snoozed {}: back in pending/ (no attempt used), not claimed before {}",
                    p.task,
                    coord::base::time::format(at)
                ),
                None => format!(
                    "released {}; it is back in pending/ (no attempt used)",
                    p.task
                ),
            })
        })
        .await
    }

    #[tool(
        description = "Ask a question about a task you hold: it waits (no attempt used, no lease) until a person answers, then comes back to you with the answer through next."
    )]
    async fn ask(&self, Parameters(p): Parameters<AskParams>) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            let token = s.token(&p.task);
            handoff::ask(&s.ws, &s.worker, &p.task, token.as_deref(), &p.question)
                .map_err(|e| text(&e))?;
            Ok(format!(
                "{} waits for an answer; call next to work on something else meanwhile, or later to get it back with the answer",
                p.task
            ))
        })
        .await
    }

    #[tool(description = "Send a message to a worker, the coordinator, or all workers.")]
    async fn send(
        &self,
        Parameters(p): Parameters<SendParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            let to = coord::verbs::messages::To::parse(&p.to).map_err(|e| text(&e))?;
            let sent = coord::verbs::messages::send(
                &s.ws,
                &s.worker,
                &to,
                coord::verbs::messages::Kind::Message,
                p.task.as_deref(),
                &p.text,
            )
            .map_err(|e| text(&e))?;
            let names: Vec<&str> = sent.iter().map(|i| i.name()).collect();
            Ok(format!("sent to {}", names.join(", ")))
        })
        .await
    }

    #[tool(description = "Leave feedback for the coordinator: what helped, what got in the way.")]
    async fn feedback(
        &self,
        Parameters(p): Parameters<FeedbackParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            coord::verbs::messages::send(
                &s.ws,
                &s.worker,
                &coord::verbs::messages::To::One(coord::verbs::messages::Inbox::Coordinator),
                coord::verbs::messages::Kind::Feedback,
                p.task.as_deref(),
                &p.text,
            )
            .map_err(|e| text(&e))?;
            Ok("feedback left for the coordinator".to_string())
        })
        .await
    }

    #[tool(description = "Read your unread messages (they are marked read).")]
    async fn inbox(&self) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, |s| {
            let mail = coord::cli::talk::Delivery::unread(&s.ws, &s.worker);
            let text = match mail.text.is_empty() {
                true => format!("no unread messages for {}", s.worker),
                false => mail.text.clone(),
            };
            mail.delivered(&s.ws);
            Ok(text)
        })
        .await
    }

    #[tool(description = "Renew your lease on the tasks you hold, with an optional note.")]
    async fn heartbeat(
        &self,
        Parameters(p): Parameters<HeartbeatParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            if p.progress.is_some_and(|n| n > 100) {
                return Err("error: progress is a percentage from 0 to 100\n".to_string());
            }
            let beat = handoff::Beat {
                note: p.note.as_deref(),
                progress: p.progress,
            };
            let held = handoff::heartbeat(&s.ws, &s.worker, beat).map_err(|e| text(&e))?;
            Ok(if held.is_empty() {
                format!("{}: alive, holding no task", s.worker)
            } else {
                format!("{}: alive, holding {}", s.worker, held.join(", "))
            })
        })
        .await
    }

    #[tool(description = "Show one task: state, holder, attempts, notes, checks, report.")]
    async fn show(
        &self,
        Parameters(p): Parameters<TaskParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            coord::cli::show::to_text(&s.ws, &p.task).map_err(|e| match e.downcast_ref::<Error>() {
                Some(err) => text(err),
                None => format!("error: {e}\n"),
            })
        })
        .await
    }

    #[tool(description = "Counts per state and each worker.")]
    async fn status(&self) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, |s| {
            coord::views::status::gather(&s.ws)
                .map(|st| {
                    anstream::adapter::strip_str(&coord::cli::status::render(&st)).to_string()
                })
                .map_err(|e| text(&e))
        })
        .await
    }

    #[tool(
        description = "Queue tasks (one task object or an array, as in a tasks file): all or none."
    )]
    async fn queue(
        &self,
        Parameters(p): Parameters<QueueParams>,
    ) -> Result<CallToolResult, ErrorData> {
        blocking(&self.session, move |s| {
            let tasks = coord::model::task::parse_tasks(&p.tasks.to_string())
                .map_err(|problems| text(&Error::InvalidTasks { problems }))?;
            let queued = coord::verbs::queue::enqueue(&s.ws, tasks).map_err(|e| text(&e))?;
            Ok(queued
                .iter()
                .map(|r| match &r.outcome {
                    Outcome::Queued => format!("queued     {}\n", r.id),
                    Outcome::Blocked => {
                        format!("blocked    {} (waits for its dependencies)\n", r.id)
                    }
                    Outcome::Unchanged(state) => format!("unchanged  {} ({state})\n", r.id),
                })
                .collect())
        })
        .await
    }
}

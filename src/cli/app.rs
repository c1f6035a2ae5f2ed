//! The `coord` program: its arguments, and which command of `cli/` each one runs.

use crate::cli;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::sys::logging;
use clap::{CommandFactory, Parser, Subcommand};

/// A durable task queue in a directory: no server, atomic renames, workers woken by file events.
#[derive(Debug, Parser)]
#[command(name = "coord", version, about, long_about = None, propagate_version = true, max_term_width = 80)]
struct Cli {
    /// The workspace folder (the .coord folder itself); default: the nearest .coord above the
    /// current directory.
    #[arg(long, global = true, env = "COORD_ROOT", value_name = "PATH")]
    root: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a workspace (DIR/.coord); harmless if it exists.
    Init(cli::init::Args),
    /// Queue tasks from a JSON file (array, object or JSON Lines); `-` reads standard input.
    Queue(cli::queue::Args),
    /// Queue one command without writing JSON: `coord add -- make test`.
    Add(cli::add::Args),
    /// Run as a worker: claim tasks, run them, record the outcome, repeat.
    Worker(cli::worker::Args),
    /// Forget stopped workers (`coord workers forget --stopped`).
    Workers(cli::workers::Args),
    /// Show counts per state and each worker.
    Status(cli::status::Args),
    /// List the tasks: state, holder, attempt, priority, age, and why a task waits.
    #[command(alias = "ls")]
    List(cli::list::Args),
    /// Claim the next task for an agent or a person and print it (exit 10 when none is ready).
    Next(cli::next::Args),
    /// Complete a held task from any process, after its checks pass.
    Complete(cli::complete::Args),
    /// Fail a held task: retried while attempts remain, else dead-lettered.
    Fail(cli::claims::FailArgs),
    /// Hand a held task back to pending/ without using an attempt.
    Release(cli::claims::ReleaseArgs),
    /// Renew a worker's lease; with --note and --progress, say where the work is.
    Heartbeat(cli::claims::HeartbeatArgs),
    /// Park a held task with a question (no attempt used, no lease); the answer brings it back.
    Ask(cli::claims::AskArgs),
    /// Answer a waiting task's question: it goes back to its asker, or to the next worker.
    Answer(cli::talk::AnswerArgs),
    /// List the open questions.
    Questions(cli::talk::QuestionsArgs),
    /// Send a message to a worker, the coordinator, or all workers.
    Send(cli::talk::SendArgs),
    /// Read an inbox (the coordinator's, or a worker's with --worker).
    Inbox(cli::talk::InboxArgs),
    /// Leave feedback for the coordinator, as a worker.
    Feedback(cli::talk::FeedbackArgs),
    /// List the work waiting for review.
    Review(cli::review::ListArgs),
    /// Approve work in review: it completes, and its dependents may start.
    Approve(cli::review::ApproveArgs),
    /// Reject work in review: back to pending with the reason (the attempt counts).
    Reject(cli::review::RejectArgs),
    /// Show or change the workspace's settings (review default, label limits, leases).
    Config(cli::config::Args),
    /// Cancel tasks that have not finished (pending, blocked or held); a running one is stopped.
    Cancel(cli::operate::CancelArgs),
    /// Send failed tasks back with their attempts reset (history kept).
    Retry(cli::operate::RetryArgs),
    /// Remove finished tasks older than a duration, with their reports and logs.
    Purge(cli::operate::PurgeArgs),
    /// Stop claiming: running tasks finish, nothing new is claimed until `coord resume`.
    Pause(cli::operate::PauseArgs),
    /// Let workers claim again after `coord pause`.
    Resume(cli::operate::PauseArgs),
    /// Block until tasks finish (default: everything queued); exit 0 only if all completed.
    Wait(cli::wait::Args),
    /// Show worker logs merged by time; --follow keeps printing new lines.
    Logs(cli::logs::Args),
    /// Show the journal of state changes; --follow keeps printing new ones.
    Events(cli::events::Args),
    /// Counts, throughput, wait and run times, per-worker totals, first-attempt success rate.
    Stats(cli::stats::Args),
    /// Show one task: state, holder, attempts, notes, checks, report, logs.
    Show(cli::show::Args),
    /// Take back now the tasks of dead workers and expired leases.
    Recover(cli::recover::Args),
    /// Check the workspace against the protocol's invariant; --fix repairs.
    #[command(alias = "fsck")]
    Doctor(cli::doctor::Args),
    /// Answer an agent harness's stop hook: claim the next task and keep the chat going.
    Hook(cli::hook::Args),
    /// Serve the hand-off verbs as MCP tools on stdin/stdout, as one worker (for MCP clients).
    Mcp(cli::mcp_start::Args),
    /// Run the fixture scenario end to end in a temporary workspace with two workers.
    Demo(cli::demo::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cli::completions::Args),
    /// Print the manual page (roff).
    Man(cli::completions::ManArgs),
}

/// Parses the command line, runs the command, and returns its exit code (docs/exit-codes.md).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Worker(_)) {
        logging::init_stderr();
    }
    let root = cli.root;
    let result = match cli.command {
        Command::Init(args) => cli::init::run(args),
        Command::Queue(args) => cli::queue::run(root, args),
        Command::Add(args) => cli::add::run(root, args),
        Command::Worker(args) => cli::worker::run(root, args),
        Command::Status(args) => cli::status::run(root, args),
        Command::Workers(args) => cli::workers::run(root, args),
        Command::List(args) => cli::list::run(root, args),
        Command::Next(args) => cli::next::run(root, args),
        Command::Complete(args) => cli::complete::run(root, args),
        Command::Fail(args) => cli::claims::fail(root, args),
        Command::Release(args) => cli::claims::release(root, args),
        Command::Heartbeat(args) => cli::claims::heartbeat(root, args),
        Command::Ask(args) => cli::claims::ask(root, args),
        Command::Answer(args) => cli::talk::answer(root, args),
        Command::Questions(args) => cli::talk::list_questions(root, args),
        Command::Send(args) => cli::talk::send(root, args),
        Command::Inbox(args) => cli::talk::inbox(root, args),
        Command::Feedback(args) => cli::talk::feedback(root, args),
        Command::Review(args) => cli::review::list(root, args),
        Command::Approve(args) => cli::review::approve(root, args),
        Command::Reject(args) => cli::review::reject(root, args),
        Command::Config(args) => cli::config::run(root, args),
        Command::Cancel(args) => cli::operate::cancel(root, args),
        Command::Retry(args) => cli::operate::retry(root, args),
        Command::Purge(args) => cli::operate::purge(root, args),
        Command::Pause(args) => cli::operate::pause(root, args),
        Command::Resume(args) => cli::operate::resume(root, args),
        Command::Wait(args) => cli::wait::run(root, args),
        Command::Logs(args) => cli::logs::run(root, args),
        Command::Events(args) => cli::events::run(root, args),
        Command::Stats(args) => cli::stats::run(root, args),
        Command::Show(args) => cli::show::run(root, args),
        Command::Recover(args) => cli::recover::run(root, args),
        Command::Doctor(args) => cli::doctor::run(root, args),
        Command::Hook(args) => cli::hook::run(root, args),
        Command::Mcp(args) => cli::mcp_start::run(root, args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Completions(args) => cli::completions::completions(Cli::command(), args),
        Command::Man(args) => cli::completions::man(Cli::command(), args),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => cli::report_error(&err).into(),
    }
}

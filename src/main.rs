//! The `coord` command line: parses arguments and hands each command to the library.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A durable task queue in a directory: no server, atomic renames, workers woken by file events.
#[derive(Debug, Parser)]
#[command(name = "coord", version, about, long_about = None, propagate_version = true)]
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
    /// Run as a worker: claim tasks, run them, record the outcome, repeat.
    Worker(cli::worker::Args),
    /// Show counts per state and each worker.
    Status(cli::status::Args),
    /// Run the fixture scenario end to end in a temporary workspace with two workers.
    Demo(cli::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root;
    let result = match cli.command {
        Command::Init(args) => cli::init::run(args),
        Command::Queue(args) => cli::queue::run(root, args),
        Command::Worker(args) => cli::worker::run(root, args),
        Command::Status(args) => cli::status::run(root, args),
        Command::Demo(args) => cli::demo::run(args),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => cli::report_error(&err).into(),
    }
}

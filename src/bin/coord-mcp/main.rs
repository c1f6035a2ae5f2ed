//! `coord-mcp`: coord's MCP server, which `coord mcp` starts. It is a program of its own so that
//! the MCP SDK and its async runtime are linked into it alone, and every short-lived `coord`
//! call (queue, next, complete) starts without them.

mod mcp;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use coord::cli;

/// Serve coord's hand-off verbs as MCP tools on stdin/stdout, as one worker (`coord mcp`).
#[derive(Debug, Parser)]
#[command(name = "coord-mcp", version, max_term_width = 80)]
struct Cli {
    /// The workspace folder (the .coord folder itself); default: the nearest .coord above the
    /// current directory.
    #[arg(long, env = "COORD_ROOT", value_name = "PATH")]
    root: Option<PathBuf>,

    #[command(flatten)]
    server: mcp::Args,
}

fn main() -> ExitCode {
    let args = Cli::parse();
    coord::sys::logging::init_stderr();
    match mcp::run(args.root, args.server) {
        Ok(code) => code.into(),
        Err(err) => cli::report_error(&err).into(),
    }
}

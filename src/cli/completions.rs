//! `coord completions SHELL` and `coord man`: shell completions and the manual page, generated
//! from the same command-line definition the binary parses.

use std::io::Write;

use crate::Error;
use crate::base::exit::ExitCode;

/// Arguments of `coord completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord completions bash > ~/.local/share/bash-completion/completions/coord
  coord completions zsh > ~/.zfunc/_coord      (with fpath+=~/.zfunc before compinit)
  coord completions fish > ~/.config/fish/completions/coord.fish")]
pub struct Args {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Prints the completion script for `args.shell`.
pub fn completions(mut command: clap::Command, args: Args) -> anyhow::Result<ExitCode> {
    let name = command.get_name().to_string();
    // Generated whole first: the generator panics on a write error such as a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::Success)
}

/// Arguments of `coord man`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord man > coord.1 && man ./coord.1
  coord man --dir /usr/local/share/man/man1      (coord.1 and one page per command)")]
pub struct ManArgs {
    /// Write coord.1 and a page per command (coord-queue.1, ...) into this folder instead.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
}

/// Prints the manual page (roff), or writes every page into a folder.
pub fn man(command: clap::Command, args: ManArgs) -> anyhow::Result<ExitCode> {
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
            clap_mangen::generate_to(command, &dir)
                .map_err(|e| Error::io("write the manual pages into", &dir, e))?;
            say!("wrote the manual pages into {}", dir.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::Success)
}

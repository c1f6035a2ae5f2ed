//! `coord hook install HARNESS`: write the harness's hook configuration into the project. It
//! merges with what is there: a hook already configured (coord's or anyone's) is never changed or
//! dropped, a file coord cannot read as the harness's format is left alone, and each file is
//! replaced whole through a rename. It prints what it changed.

use std::path::{Path, PathBuf};

use crate::base::exit::ExitCode;
use crate::fs::durable;
use anyhow::Context;
use serde_json::{Map, Value, json};

/// Arguments of `coord hook install`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The harness to configure.
    #[arg(value_enum)]
    harness: Which,
    /// The project folder (default: the workspace's project, else the current directory).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

/// The harnesses coord can configure.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Which {
    /// Claude Code: Stop (and an idle Stop hook that wakes the chat) and SessionStart in
    /// .claude/settings.json.
    Claude,
    /// Cursor: stop in .cursor/hooks.json.
    Cursor,
    /// Codex CLI: Stop and SessionStart in .codex/hooks.json.
    Codex,
    /// Gemini CLI: AfterAgent and SessionStart in .gemini/settings.json.
    Gemini,
    /// opencode: a plugin in .opencode/plugins/coord.js that passes `session.idle` to coord.
    Opencode,
}

/// Writes the configuration and prints what changed.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let project = match args.project {
        Some(dir) => dir,
        None => match super::open_workspace(root) {
            Ok(ws) => ws.project().to_path_buf(),
            Err(_) => std::env::current_dir()?,
        },
    };
    let file = project.join(match args.harness {
        Which::Claude => ".claude/settings.json",
        Which::Codex => ".codex/hooks.json",
        Which::Gemini => ".gemini/settings.json",
        Which::Opencode => ".opencode/plugins/coord.js",
        Which::Cursor => ".cursor/hooks.json",
    });
    check_folders(&project, &file)?;
    // Codex runs hooks through a login shell, which resets PATH: it gets the absolute path.
    let coord = coord_command(!matches!(args.harness, Which::Codex))?;
    let hook = |event: &str| format!("{coord} hook {event}");
    let added = match args.harness {
        Which::Claude => merge_file(&file, |root| {
            let mut added = add_grouped(root, "Stop", &hook("claude-stop"), json!(30))?;
            added += add_idle(root, &hook("claude-idle --wait 3600"))?;
            added += add_grouped(
                root,
                "SessionStart",
                &hook("claude-session-start"),
                json!(10),
            )?;
            Ok(added)
        })?,
        Which::Codex => merge_file(&file, |root| {
            let mut added = add_grouped(root, "Stop", &hook("codex-stop"), json!(30))?;
            added += add_grouped(
                root,
                "SessionStart",
                &hook("codex-session-start"),
                json!(10),
            )?;
            Ok(added)
        })?,
        Which::Gemini => {
            merge_file(&file, |root| {
                // Gemini CLI counts hook timeouts in milliseconds.
                let mut added = add_grouped(
                    root,
                    "AfterAgent",
                    &hook("gemini-after-agent"),
                    json!(30000),
                )?;
                added += add_grouped(
                    root,
                    "SessionStart",
                    &hook("gemini-session-start"),
                    json!(10000),
                )?;
                Ok(added)
            })?
        }
        Which::Opencode => {
            let exe = std::env::current_exe().context("cannot find the path of this coord")?;
            let program = match on_path_is(&exe) {
                true => "coord".into(),
                false => exe.to_string_lossy(),
            };
            write_plugin(&file, &program)?
        }
        Which::Cursor => merge_file(&file, |root| {
            root.entry("version").or_insert(json!(1));
            add_flat(root, "stop", &hook("cursor-stop"))
        })?,
    };
    if added == 0 {
        say!(
            "unchanged  {} (coord's hooks are there already)",
            file.display()
        );
    } else {
        say!("updated    {} ({added} hook(s) added)", file.display());
    }
    if matches!(args.harness, Which::Codex) {
        say!(
            "note: Codex runs a project's hooks only once the project and its hooks are trusted \
             (or with --dangerously-bypass-hook-trust for unattended runs)"
        );
    }
    Ok(ExitCode::Success)
}

/// The command that runs this coord: plain `coord` when the `coord` on PATH is this very
/// program and `plain_if_on_path` (the configuration is usually committed, and a path of one
/// machine's breaks on another), else its absolute path, quoted for `sh` when it needs to be,
/// with a warning when it is not the `coord` on PATH.
fn coord_command(plain_if_on_path: bool) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot find the path of this coord")?;
    let on_path = on_path_is(&exe);
    if on_path && plain_if_on_path {
        return Ok("coord".to_string());
    }
    let text = exe.to_string_lossy().into_owned();
    if !on_path {
        say_err!(
            "warning: writing the path of this coord ({text}), which is not the `coord` on PATH; \
         the configuration is usually committed, so install coord (`cargo install --path .`) \
         and run this again to write plain `coord`"
        );
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+".contains(c);
    Ok(if text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    })
}

/// Whether the first `coord` on PATH is the program at `exe` (the same file).
fn on_path_is(exe: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = std::fs::metadata(exe) else {
        return false;
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("coord"))
        .find(|candidate| candidate.is_file())
        .and_then(|found| std::fs::metadata(found).ok())
        .is_some_and(|m| m.dev() == me.dev() && m.ino() == me.ino())
}

/// Refuses a configuration file reached through a symlinked folder under the project (a
/// `.claude/` that is a link would have coord rewrite a file elsewhere).
fn check_folders(project: &Path, file: &Path) -> anyhow::Result<()> {
    let Ok(inside) = file.strip_prefix(project) else {
        return Ok(());
    };
    let mut at = project.to_path_buf();
    for part in inside.parent().into_iter().flat_map(Path::components) {
        at.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            anyhow::bail!(
                "{} is a symlink; left alone: coord writes hooks only into the project's own folders",
                at.display()
            );
        }
    }
    Ok(())
}

/// The first integer in JSON `text` that a round trip through coord's numbers would change
/// (past the 64-bit range, it would come back as a float), if any.
fn lossy_integer(text: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < text.len()
                    && matches!(text[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let token = std::str::from_utf8(&text[start..i]).unwrap_or_default();
                let integer = !token.contains(['.', 'e', 'E']);
                if integer && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() {
                    return Some(token.to_string());
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Reads `file` (absent: an empty object), lets `change` add to it, and writes it back whole
/// when anything was added. Refuses a file that is not a JSON object, leaving it untouched.
fn merge_file(
    file: &Path,
    change: impl FnOnce(&mut Map<String, Value>) -> anyhow::Result<usize>,
) -> anyhow::Result<usize> {
    let mut mode = 0o644;
    let mut root = match std::fs::symlink_metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        Ok(meta) if !meta.is_file() => {
            anyhow::bail!("{} is not a regular file; left alone", file.display())
        }
        Ok(meta) => {
            use std::os::unix::fs::PermissionsExt;
            mode = meta.permissions().mode() & 0o777;
            let bytes = durable::read_limited(file, 1 << 20)
                .with_context(|| format!("cannot read {}", file.display()))?;
            if let Some(number) = lossy_integer(&bytes) {
                anyhow::bail!(
                    "{} holds the integer {number}, which coord cannot write back unchanged; left alone: add coord's hooks by hand (docs/agents.md)",
                    file.display()
                );
            }
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                _ => anyhow::bail!(
                    "{} is not a JSON object; left alone: add coord's hooks by hand (docs/agents.md)",
                    file.display()
                ),
            }
        }
    };
    let added = change(&mut root).with_context(|| format!("in {}", file.display()))?;
    if added > 0 {
        let dir = file.parent().context("a configuration file has a folder")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut text = serde_json::to_string_pretty(&Value::Object(root))?;
        text.push('\n');
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        // The new file keeps the old one's mode (a file created here: rw-r--r--).
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
        tmp.persist(file)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(added)
}

/// The opencode plugin; `__COORD__` stands for coord's path as a JavaScript string.
const PLUGIN: &str = include_str!("assets/opencode-plugin.js");

/// Writes coord's opencode plugin, calling the coord at `exe`, to `file` unless that exact plugin
/// is there; returns 1 if it wrote it. Refuses a different file of that name, leaving it alone.
fn write_plugin(file: &Path, exe: &str) -> anyhow::Result<usize> {
    // The path as a JavaScript string (JSON's string syntax is a subset of it).
    let text = PLUGIN.replace("__COORD__", &serde_json::to_string(exe)?);
    match std::fs::symlink_metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        Ok(_) => {
            let there = durable::read_limited(file, 1 << 20)
                .with_context(|| format!("cannot read {}", file.display()))?;
            if there == text.as_bytes() {
                return Ok(0);
            }
            anyhow::bail!(
                "{} exists and is not coord's plugin; left alone: remove it or add coord by hand",
                file.display()
            );
        }
    }
    let dir = file.parent().context("a plugin file has a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    use std::os::unix::fs::PermissionsExt;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist_noclobber(file)
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(1)
}

/// The `hooks` object of a configuration, created when absent.
fn hooks(root: &mut Map<String, Value>) -> anyhow::Result<&mut Map<String, Value>> {
    match root.entry("hooks").or_insert_with(|| json!({})) {
        Value::Object(map) => Ok(map),
        _ => anyhow::bail!("its \"hooks\" is not an object; left alone"),
    }
}

/// The list of `event` in a `hooks` object, created when absent.
fn event_list<'a>(
    hooks: &'a mut Map<String, Value>,
    event: &str,
) -> anyhow::Result<&'a mut Vec<Value>> {
    match hooks.entry(event).or_insert_with(|| json!([])) {
        Value::Array(list) => Ok(list),
        _ => anyhow::bail!("its hooks.{event} is not a list; left alone"),
    }
}

/// Adds `command` to `event` in the grouped shape (Claude Code, Codex, Gemini CLI:
/// `hooks.EVENT[].hooks[].command`) unless a hook with that command is there; returns 1 if added.
fn add_grouped(
    root: &mut Map<String, Value>,
    event: &str,
    command: &str,
    timeout: Value,
) -> anyhow::Result<usize> {
    let list = event_list(hooks(root)?, event)?;
    let present = list.iter().any(|group| {
        group
            .get("hooks")
            .and_then(Value::as_array)
            .is_some_and(|hs| hs.iter().any(|h| h.get("command") == Some(&json!(command))))
    });
    if present {
        return Ok(0);
    }
    list.push(json!({"hooks": [{"type": "command", "command": command, "timeout": timeout}]}));
    Ok(1)
}

/// Adds Claude Code's idle hook (a Stop hook run in the background that wakes the chat when it
/// exits 2) unless it is there; returns 1 if added.
fn add_idle(root: &mut Map<String, Value>, command: &str) -> anyhow::Result<usize> {
    let added = add_grouped(root, "Stop", command, json!(3660))?;
    if added == 1
        && let Some(Value::Array(groups)) = hooks(root)?.get_mut("Stop")
        && let Some(hook) = groups
            .last_mut()
            .and_then(|g| g.get_mut("hooks"))
            .and_then(|hs| hs.get_mut(0))
            .and_then(Value::as_object_mut)
    {
        hook.insert("asyncRewake".into(), json!(true));
    }
    Ok(added)
}

/// Adds `command` to `event` in Cursor's flat shape (`hooks.EVENT[].command`) unless it is
/// there; returns 1 if added.
fn add_flat(root: &mut Map<String, Value>, event: &str, command: &str) -> anyhow::Result<usize> {
    let list = event_list(hooks(root)?, event)?;
    if list
        .iter()
        .any(|h| h.get("command") == Some(&json!(command)))
    {
        return Ok(0);
    }
    list.push(json!({"command": command, "loop_limit": 50}));
    Ok(1)
}

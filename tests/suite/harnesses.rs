//! Real agent harness binaries run a coord queue through their hooks alone, driven by a scripted
//! stand-in for their model API on 127.0.0.1 (tests/harness/): no network, no key. Where a
//! harness is not installed the test says so and skips, unless COORD_REQUIRE_HARNESSES names it
//! (CI names each one it installed), where it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::*;

/// The harness program `name` (or the path in `var`), with its version; None (after saying so)
/// when it is not installed.
fn harness(name: &str, var: &str) -> Option<(PathBuf, String)> {
    let flag = if name == "tmux" { "-V" } else { "--version" };
    let program = std::env::var_os(var).map(PathBuf::from).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    let version = program.as_ref().and_then(|p| {
        let out = Command::new(p).arg(flag).output().ok()?;
        out.status
            .success()
            .then(|| stdout(&out).trim().to_string())
    });
    match (program, version) {
        (Some(p), Some(v)) => {
            eprintln!("ran with {name} {v}");
            Some((p, v))
        }
        _ if required(name) => panic!("{name} is not installed and CI requires it"),
        _ => {
            eprintln!("skipped: {name} is not installed (or set {var})");
            None
        }
    }
}

/// The scripted model API: a server on 127.0.0.1 that logs every request to `log`.
struct FakeApi {
    child: Child,
    port: u16,
}

impl FakeApi {
    fn start(script: &str, log: &Path) -> FakeApi {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/harness")
            .join(script);
        let mut child = Command::new("python3")
            .arg(path)
            .arg(log)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("port: {line:?}"));
        FakeApi { child, port }
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `child` at most `limit`; kills it and fails past that.
fn finish(mut child: Child, limit: Duration, what: &str) -> std::process::Output {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if wait_for_exit(
            child.id(),
            deadline.saturating_duration_since(Instant::now()),
        ) {
            return child.wait_with_output().unwrap();
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!("{what} did not finish: {}{}", stdout(&out), stderr(&out));
}

/// A project with `n` tasks `t0`.. that each ask for the file `tN.md`.
fn queue_of_files(n: usize) -> Project {
    let p = Project::new();
    let tasks: Vec<Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("t{i}"),
                "description": format!("write t{i}.md"),
                "outputFiles": [format!("t{i}.md")],
            })
        })
        .collect();
    p.queue(&serde_json::to_string(&tasks).unwrap());
    p
}

/// How many `completed` events the journal holds (each is recorded after its task's move and
/// report).
fn completions(p: &Project) -> usize {
    stdout(&p.coord(&["events", "--json"]))
        .lines()
        .filter(|l| l.contains("\"event\":\"completed\""))
        .count()
}

/// The project `p` with `harness`'s hooks installed and its scripted model API (`fake`)
/// started, logging requests to the returned file.
fn harnessed(p: Project, harness: &str, fake: &str) -> (Project, PathBuf, FakeApi) {
    let out = p.coord(&["hook", "install", harness]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = p.path().join("api.jsonl");
    let api = FakeApi::start(fake, &log);
    (p, log, api)
}

/// Every one of the `n` tasks completed exactly once, on its first attempt, by a worker whose
/// id starts with `prefix`, with the file it asked for.
fn each_completed_once(p: &Project, n: usize, prefix: &str) {
    assert_eq!(p.count("completed"), n);
    assert_eq!(completions(p), n, "each task completed exactly once");
    for i in 0..n {
        let r = p.report(&format!("t{i}"));
        assert_eq!(r["attempt"], 1, "{r}");
        assert!(r["workerId"].as_str().unwrap().starts_with(prefix), "{r}");
        assert!(p.path().join(format!("t{i}.md")).is_file());
    }
}

/// PATH with this coord first, as a person who installed it has.
fn path_with_coord() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_coord")).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs two headless chats of `program` in the project `p` at the same time, each with its own
/// home folder (prepared by `prepare`, which also gives the chat's arguments and environment),
/// with this coord first on PATH and no coord variables; waits for both (bounded) and returns
/// their outputs, each checked to have succeeded.
fn two_chats(
    program: &Path,
    p: &Project,
    what: &str,
    prepare: impl Fn(&Path, &mut Command),
) -> Vec<std::process::Output> {
    let chats: Vec<(Child, tempfile::TempDir)> = (0..2)
        .map(|_| {
            let home = tempfile::tempdir().unwrap();
            let mut cmd = Command::new(program);
            cmd.current_dir(p.path())
                .env("HOME", home.path())
                .env("PATH", path_with_coord())
                .env_remove("COORD_WORKER_ID")
                .env_remove("COORD_ROOT")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            prepare(home.path(), &mut cmd);
            (cmd.spawn().unwrap(), home)
        })
        .collect();
    chats
        .into_iter()
        .map(|(child, _home)| {
            let out = finish(child, Duration::from_secs(240), what);
            assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
            out
        })
        .collect()
}

#[test]
#[cfg_attr(
    coord_missing_codex,
    ignore = "needs codex on PATH: `just ci` (or .ci/run) installs it"
)]
fn two_codex_chats_drain_a_queue_through_the_stop_hook_alone() {
    let Some((codex, _)) = harness("codex", "COORD_CODEX") else {
        return;
    };
    const TASKS: usize = 6;
    let (p, log, api) = harnessed(queue_of_files(TASKS), "codex", "fake_openai.py");
    let outs = two_chats(&codex, &p, "a Codex chat", |home, cmd| {
        // The scripted model as a provider; the project trusted; the shell not a login shell,
        // which would reset PATH.
        std::fs::write(
            home.join("config.toml"),
            format!(
                "allow_login_shell = false\nmodel = \"fake-model\"\nmodel_provider = \"fake\"\n\
                 [model_providers.fake]\nname = \"fake\"\nbase_url = \"http://127.0.0.1:{}/v1\"\n\
                 wire_api = \"responses\"\nenv_key = \"FAKE_API_KEY\"\n\
                 [projects.\"{}\"]\ntrust_level = \"trusted\"\n",
                api.port,
                p.path().display()
            ),
        )
        .unwrap();
        cmd.args([
            "exec",
            "--dangerously-bypass-approvals-and-sandbox",
            "--dangerously-bypass-hook-trust",
            "--skip-git-repo-check",
            "Work through the coord queue.",
        ])
        .env("CODEX_HOME", home)
        .env("FAKE_API_KEY", "not-a-key");
    });
    for out in &outs {
        assert!(
            stderr(out).contains("hook: Stop Blocked"),
            "{}",
            stderr(out)
        );
    }
    each_completed_once(&p, TASKS, "codex-");
    // One prompt per chat: the first request of each has no assistant output yet.
    let firsts = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["path"].as_str().unwrap().ends_with("/responses"))
        .filter(|r| {
            r["body"]["input"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["role"] != "assistant" && i["type"] != "function_call")
        })
        .count();
    assert_eq!(firsts, 2, "two chats, one prompt each");
}

#[test]
#[cfg_attr(
    coord_missing_gemini,
    ignore = "needs gemini on PATH: `just ci` (or .ci/run) installs it"
)]
fn two_gemini_cli_chats_drain_a_queue_through_the_after_agent_hook_alone() {
    let Some((gemini, _)) = harness("gemini", "COORD_GEMINI") else {
        return;
    };
    const TASKS: usize = 6;
    let (p, log, api) = harnessed(queue_of_files(TASKS), "gemini", "fake_gemini.py");
    two_chats(&gemini, &p, "a Gemini CLI chat", |home, cmd| {
        std::fs::create_dir(home.join(".gemini")).unwrap();
        std::fs::write(
            home.join(".gemini/settings.json"),
            r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}}"#,
        )
        .unwrap();
        cmd.args(["-p", "Work through the coord queue.", "--yolo"])
            .env("GEMINI_API_KEY", "not-a-key")
            .env(
                "GOOGLE_GEMINI_BASE_URL",
                format!("http://127.0.0.1:{}", api.port),
            )
            .env("GEMINI_CLI_TRUST_WORKSPACE", "true");
    });
    each_completed_once(&p, TASKS, "gemini-");
    // One prompt per chat: the prompt is in the first content of each chat's requests only.
    let firsts = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .contains(":streamGenerateContent")
        })
        .filter(|r| {
            r["body"]["contents"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["role"] != "model")
        })
        .count();
    assert_eq!(firsts, 2, "two chats, one prompt each");
}

#[test]
#[cfg_attr(
    coord_missing_claude,
    ignore = "needs claude on PATH: `just ci` (or .ci/run) installs it"
)]
fn two_claude_code_chats_drain_a_queue_through_the_stop_hook_alone() {
    let Some((claude, _)) = harness("claude", "COORD_CLAUDE") else {
        return;
    };
    const TASKS: usize = 8;
    let (p, log, api) = harnessed(queue_of_files(TASKS), "claude", "fake_anthropic.py");
    let outs = two_chats(&claude, &p, "a Claude Code chat", |_, cmd| {
        cmd.args([
            "-p",
            "Work through the coord queue.",
            "--allowedTools",
            "Bash",
            "--output-format",
            "json",
        ])
        .env(
            "ANTHROPIC_BASE_URL",
            format!("http://127.0.0.1:{}", api.port),
        )
        .env("ANTHROPIC_API_KEY", "sk-test-not-a-key")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1");
    });
    let mut workers = Vec::new();
    for out in &outs {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["is_error"], false, "{v}");
        let session: String = v["session_id"]
            .as_str()
            .unwrap()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect();
        workers.push(format!("claude-{session}"));
    }
    // Every task completed once, by one of the two chats, with the file it asked for.
    each_completed_once(&p, TASKS, "claude-");
    for i in 0..TASKS {
        let r = p.report(&format!("t{i}"));
        assert!(
            workers.contains(&r["workerId"].as_str().unwrap().to_string()),
            "{r}"
        );
    }
    // One prompt per chat: every other user message the model saw came from the hooks or tools.
    let requests: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r["path"].as_str().unwrap().starts_with("/v1/messages"))
        .collect();
    let mut prompts = 0;
    for r in &requests {
        for m in r["body"]["messages"].as_array().unwrap() {
            if m["role"] != "user" {
                continue;
            }
            let texts: Vec<&str> = match &m["content"] {
                Value::String(s) => vec![s.as_str()],
                Value::Array(blocks) => blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect(),
                _ => Vec::new(),
            };
            for t in texts {
                if t.contains("Work through the coord queue.") {
                    prompts += 1;
                } else {
                    assert!(
                        t.contains("Stop hook feedback")
                            || t.contains("coord:")
                            || t.starts_with('<'),
                        "a user message that no hook or tool wrote: {t}"
                    );
                }
            }
        }
    }
    // Each request repeats the chat's history: the two prompts are in every request, once each.
    let first_requests = requests
        .iter()
        .filter(|r| {
            r["body"]["messages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["role"] != "assistant")
        })
        .count();
    assert_eq!(first_requests, 2, "two chats, one prompt each");
    assert!(prompts >= 2);
    // The SessionStart hook told each chat its worker id before its first answer.
    for worker in &workers {
        assert!(
            requests.iter().any(|r| {
                r["body"]["messages"].as_array().unwrap().len() <= 2
                    && r["body"]
                        .to_string()
                        .contains(&format!("you are worker {worker}"))
            }),
            "{worker} was not told its id at the start"
        );
    }
}

#[test]
#[cfg_attr(
    coord_missing_claude,
    ignore = "needs claude on PATH: `just ci` (or .ci/run) installs it"
)]
fn a_claude_code_chat_is_handed_its_unread_messages_and_completes_with_them() {
    let Some((claude, _)) = harness("claude", "COORD_CLAUDE") else {
        return;
    };
    let (p, log, api) = harnessed(queue_of_files(1), "claude", "fake_anthropic.py");
    let out = p.coord(&[
        "send",
        "--to",
        "claude-solo",
        "Write t0.md in plain English.",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let home = tempfile::tempdir().unwrap();
    let child = Command::new(&claude)
        .args([
            "-p",
            "Work through the coord queue.",
            "--allowedTools",
            "Bash",
        ])
        .args(["--output-format", "json"])
        .current_dir(p.path())
        .env("HOME", home.path())
        .env("PATH", path_with_coord())
        .env("COORD_WORKER_ID", "claude-solo")
        .env_remove("COORD_ROOT")
        .env(
            "ANTHROPIC_BASE_URL",
            format!("http://127.0.0.1:{}", api.port),
        )
        .env("ANTHROPIC_API_KEY", "sk-test-not-a-key")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(child, Duration::from_secs(240), "a Claude Code chat");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    each_completed_once(&p, 1, "claude-solo");
    let requests = std::fs::read_to_string(&log).unwrap();
    assert!(
        requests.contains("Write t0.md in plain English."),
        "the model never saw the message"
    );
    let unread = json_of(
        &p,
        &["inbox", "--worker", "claude-solo", "--unread", "--json"],
    );
    assert_eq!(
        unread["messages"],
        serde_json::json!([]),
        "handed over once, marked read"
    );
}

/// A tmux server of its own, killed with the test.
struct Tmux {
    socket: String,
    /// Where the panes' output goes, so that a wait wakes on it.
    screens: tempfile::TempDir,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        self.screen_of("chat")
    }

    fn screen_of(&self, session: &str) -> String {
        stdout(&self.run(&["capture-pane", "-p", "-t", session]))
    }

    /// Waits (bounded) until `session`'s screen shows `text`. The pane's output is piped to a
    /// file, whose changes wake the wait; each wake looks at the screen as tmux draws it.
    fn wait_for(&self, session: &str, text: &str) {
        let out = self.screens.path().join(format!("{session}.out"));
        let pipe = format!("cat >> '{}'", out.display());
        self.run(&["pipe-pane", "-o", "-t", session, &pipe]);
        let shown = wait_on_changes(self.screens.path(), Duration::from_secs(120), || {
            self.screen_of(session).contains(text)
        });
        assert!(
            shown,
            "{session} never showed {text:?}: {}",
            self.screen_of(session)
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[test]
#[cfg_attr(
    any(coord_missing_claude, coord_missing_tmux),
    ignore = "needs claude and tmux on PATH: `just ci` (or .ci/run) installs them"
)]
fn an_idle_claude_code_chat_is_woken_by_a_task_queued_after_it_stopped() {
    let Some((claude, _)) = harness("claude", "COORD_CLAUDE") else {
        return;
    };
    if harness("tmux", "COORD_TMUX").is_none() {
        return;
    }
    let p = Project::new();
    let (p, log, api) = harnessed(p, "claude", "fake_anthropic.py");
    // A person's first run, already past onboarding, the folder trusted, the key approved.
    let key = "sk-test-not-a-key-0123456789";
    let home = tempfile::tempdir().unwrap();
    let project = p.path().to_str().unwrap().to_string();
    std::fs::write(
        home.path().join(".claude.json"),
        serde_json::json!({
            "hasCompletedOnboarding": true,
            "theme": "dark",
            "customApiKeyResponses": {"approved": [&key[key.len() - 20..]], "rejected": []},
            "projects": {project.clone(): {"hasTrustDialogAccepted": true,
                                            "hasCompletedProjectOnboarding": true}},
        })
        .to_string(),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_coord")).parent().unwrap();
    let tmux = Tmux {
        socket: format!("coord-test-{}", std::process::id()),
        screens: tempfile::tempdir().unwrap(),
    };
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "30",
        "-s",
        "chat",
        "-c",
        &project,
        "env",
        &format!("HOME={}", home.path().display()),
        &format!(
            "PATH={}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        &format!("ANTHROPIC_BASE_URL=http://127.0.0.1:{}", api.port),
        &format!("ANTHROPIC_API_KEY={key}"),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
        "DISABLE_AUTOUPDATER=1",
        claude.to_str().unwrap(),
        "--allowedTools",
        "Bash",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    tmux.wait_for("chat", "for shortcuts");
    tmux.run(&[
        "send-keys",
        "-t",
        "chat",
        "Work through the coord queue.",
        "Enter",
    ]);
    // The queue is empty: the chat answers, its stop hook finds nothing (and records the chat's
    // worker), and the chat goes idle.
    assert!(
        p.wait(Duration::from_secs(60), || {
            std::fs::read_dir(p.root().join("workers")).is_ok_and(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("claude-"))
            })
        }),
        "the stop hook never ran: {}",
        tmux.screen()
    );
    p.queue(
        r#"{"id":"late","description":"queued while the chat is idle","outputFiles":["late.md"]}"#,
    );
    assert!(
        p.wait(Duration::from_secs(60), || p
            .root()
            .join("reports/late.json")
            .exists()),
        "the idle chat was not woken: {}",
        tmux.screen()
    );
    let r = p.report("late");
    assert_eq!(r["status"], "completed");
    assert!(
        r["workerId"].as_str().unwrap().starts_with("claude-"),
        "{r}"
    );
    // Nobody typed anything after the first prompt.
    let last: Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .rfind(|l| l.contains("/v1/messages"))
            .unwrap(),
    )
    .unwrap();
    let typed = last["body"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .filter(|m| m.to_string().contains("Work through the coord queue."))
        .count();
    assert_eq!(typed, 1, "one prompt, typed once");
}

#[test]
#[cfg_attr(
    any(coord_missing_opencode, coord_missing_tmux),
    ignore = "needs opencode and tmux on PATH: `just ci` (or .ci/run) installs them"
)]
fn two_opencode_chats_drain_a_queue_through_coord_s_plugin_alone() {
    let Some((opencode, _)) = harness("opencode", "COORD_OPENCODE") else {
        return;
    };
    if harness("tmux", "COORD_TMUX").is_none() {
        return;
    }
    const TASKS: usize = 6;
    let (p, log, api) = harnessed(queue_of_files(TASKS), "opencode", "fake_chat.py");
    p.write(
        "opencode.json",
        &serde_json::json!({
            "provider": {"fake": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "fake",
                "options": {"baseURL": format!("http://127.0.0.1:{}/v1", api.port), "apiKey": "not-a-key"},
                "models": {"fake-model": {"name": "fake model"}},
            }},
            "model": "fake/fake-model",
            "small_model": "fake/fake-model",
            "permission": {"bash": "allow", "edit": "allow"},
            "autoupdate": false,
            "share": "disabled",
        })
        .to_string(),
    );
    let tmux = Tmux {
        socket: format!("coord-oc-{}", std::process::id()),
        screens: tempfile::tempdir().unwrap(),
    };
    let homes: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    // One cache for both: a provider package opencode fetches is fetched once.
    let cache = tempfile::tempdir().unwrap();
    for (i, home) in homes.iter().enumerate() {
        let session = format!("chat{i}");
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            &session,
            "-c",
            p.path().to_str().unwrap(),
            "env",
            &format!("HOME={}", home.path().display()),
            &format!("PATH={}", path_with_coord()),
            &format!("XDG_CACHE_HOME={}", cache.path().display()),
            "OPENCODE_DISABLE_MODELS_FETCH=true",
            "OPENCODE_DISABLE_AUTOUPDATE=true",
            "OPENCODE_DISABLE_LSP_DOWNLOAD=true",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS=true",
            opencode.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for i in 0..2 {
        let session = format!("chat{i}");
        tmux.wait_for(&session, "Ask anything");
        tmux.run(&[
            "send-keys",
            "-t",
            &session,
            "Work through the coord queue.",
            "Enter",
        ]);
    }
    assert!(
        p.wait(Duration::from_secs(120), || completions(&p) == TASKS),
        "the queue was not drained: {} completed\n{}\n{}",
        p.count("completed"),
        tmux.screen_of("chat0"),
        tmux.screen_of("chat1")
    );
    each_completed_once(&p, TASKS, "opencode-");
    // One prompt per chat: no request of the agent loop (the one with tools; opencode also asks
    // for a title) holds a user message other than that prompt and coord's.
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["body"]["tools"].is_null() {
            continue;
        }
        for m in r["body"]["messages"].as_array().into_iter().flatten() {
            let text = m["content"].to_string();
            if m["role"] == "user" {
                assert!(
                    text.contains("Work through the coord queue.") || text.contains("coord: "),
                    "a user message that nobody but a person wrote: {text}"
                );
            }
        }
    }
}

//! Finds which optional programs the tests drive are missing on this machine, so that the tests
//! needing them are marked ignored, with the reason, in `cargo test`'s own output (not skipped
//! silently). A program named in COORD_REQUIRE_HARNESSES is never marked: its tests run and
//! fail if it is missing, as CI wants.

use std::path::Path;
use std::process::Command;

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=COORD_REQUIRE_HARNESSES");
    // Installing a program changes its folder: look again then.
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths).filter(|d| d.is_dir()) {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    let required = std::env::var("COORD_REQUIRE_HARNESSES").unwrap_or_default();
    let faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    let mcp = || {
        Command::new("python3")
            .args(["-c", "import mcp"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let checks: [(&str, &str, bool); 8] = [
        ("claude", "claude", on_path("claude")),
        ("codex", "codex", on_path("codex")),
        ("gemini", "gemini", on_path("gemini")),
        ("opencode", "opencode", on_path("opencode")),
        ("tmux", "tmux", on_path("tmux")),
        ("mcp", "mcp", mcp()),
        ("faketime", "faketime", Path::new(faketime).exists()),
        (
            "sshfs",
            "hosts",
            (Path::new("/usr/sbin/sshd").exists() || on_path("sshd"))
                && on_path("sshfs")
                && Path::new("/dev/fuse").exists(),
        ),
    ];
    for (cfg, name, present) in checks {
        println!("cargo::rustc-check-cfg=cfg(coord_missing_{cfg})");
        let demanded = required.split_whitespace().any(|n| n == name);
        if !present && !demanded {
            println!("cargo::rustc-cfg=coord_missing_{cfg}");
        }
    }
}

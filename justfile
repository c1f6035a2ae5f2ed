# Recipes for working on coord. `just ci` is exactly what CI runs.

# The main job end to end on the fixtures.
demo:
    cargo run --release -- demo

# Install coord with the C library linked statically: every short-lived call (queue, next,
# complete) then starts about 0.25 ms faster. `cargo install --path .` works too.
install:
    RUSTFLAGS="-C target-feature=+crt-static" cargo install --path . --target "$(rustc -vV | sed -n 's/^host: //p')"

# The tests.
test:
    cargo test

# Formatting, lints and tests, as CI runs them.
ci:
    bash .ci/run

# The benchmark against dirq, nq and task-spooler (installs them if missing); see docs/performance.md.
bench *ARGS:
    python3 bench/run.py {{ARGS}}

# Fuzz the task-file and tasks-file readers for SECS seconds (needs a nightly toolchain and `cargo install cargo-fuzz`).
fuzz SECS="60":
    cargo +nightly fuzz run task_file -- -max_total_time={{SECS}}

# The torture test with every verb at once, for as long as you like (default 5 minutes); figures
# in docs/reliability.md. Without --all-verbs (python3 scripts/soak.py), kills alone.
soak MINUTES="5" *ARGS:
    python3 scripts/soak.py --all-verbs --minutes {{MINUTES}} {{ARGS}}

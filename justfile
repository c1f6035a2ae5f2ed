# Recipes for working on coord. `just ci` is exactly what CI runs.

# The main job end to end on the fixtures.
demo:
    cargo run --release -- demo

# The tests.
test:
    cargo test

# Formatting, lints and tests, as CI runs them.
ci:
    bash .ci/run

# The benchmark against dirq, nq and task-spooler (installs them if missing); see docs/performance.md.
bench *ARGS:
    python3 bench/run.py {{ARGS}}

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

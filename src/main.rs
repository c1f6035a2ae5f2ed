//! The `coord` command line; the commands live in the library's `cli` layer.

fn main() -> std::process::ExitCode {
    coord::cli::app::main()
}

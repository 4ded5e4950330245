//! The `streamserver` binary: everything is in the library's [`streamserver::cmd`].

fn main() -> std::process::ExitCode {
    streamserver::cmd::main()
}

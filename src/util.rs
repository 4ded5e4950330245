//! Small helpers several stages share: a panic's message, an error with its causes on one line,
//! and ([`redact`]) URLs and request targets with their credentials hidden for logs and
//! `/api/state`.

pub mod redact;

pub use redact::{redact_target, redact_url};

/// The message of a caught panic (`&str` or `String` payloads), else "unknown panic".
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// `err: cause: cause` on one line (logs and status pages show one message).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        s.push_str(": ");
        s.push_str(&e.to_string());
        source = e.source();
    }
    s
}

#[cfg(test)]
mod tests;

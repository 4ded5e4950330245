//! Unit tests of request routing.

use super::*;

#[test]
fn query_parsing() {
    assert_eq!(Query::parse("fps=5&t=123").unwrap().fps, Some(5));
    assert_eq!(
        Query::parse("action=stream").unwrap().action.as_deref(),
        Some("stream")
    );
    assert!(Query::parse("fps=abc").is_err());
    assert!(Query::parse("fps=0").is_err());
    assert!(Query::parse("").unwrap().fps.is_none());
}

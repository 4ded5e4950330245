//! Unit tests of request routing.

use super::*;

#[test]
fn query_parsing() {
    assert_eq!(Query::parse("fps=5&t=123").unwrap().fps, Some(5));
    assert_eq!(
        Query::parse("action=stream").unwrap().action,
        Some("stream")
    );
    assert!(Query::parse("fps=abc").is_err());
    assert!(Query::parse("fps=0").is_err());
    assert!(Query::parse("").unwrap().fps.is_none());
}

#[test]
fn the_token_is_read_from_the_query_as_it_is() {
    let q = Query::parse("fps=5&token=Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja-_x").unwrap();
    assert_eq!(q.token, Some("Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja-_x"));
    assert_eq!(Query::parse("t=1").unwrap().token, None);
}

//! Unit tests of `http::access`: the refusal responses and the no-users shortcut.

use super::*;
use crate::auth::Denial;

fn denial() -> Denial {
    Denial {
        user: None,
        reason: Reason::WrongPassword,
    }
}

#[test]
fn refusals_carry_what_a_client_needs() {
    let r = refusal(&Decision::Unauthorized(denial()));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers()[header::WWW_AUTHENTICATE],
        "Basic realm=\"streamserver\", charset=\"UTF-8\""
    );
    let r = refusal(&Decision::Forbidden(denial()));
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    let r = refusal(&Decision::Throttled {
        retry_after: Duration::from_millis(2500),
    });
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()[header::RETRY_AFTER], "3");
}

#[tokio::test]
async fn without_users_everything_is_allowed_without_looking() {
    let req = Request::builder()
        .uri("/stream.mjpg?token=whatever")
        .header(header::AUTHORIZATION, "Basic garbage")
        .body(())
        .unwrap();
    let scope = authorize(
        &Authenticator::default(),
        &req,
        Some("whatever"),
        Permission::Control,
        Some("main"),
    )
    .await;
    assert_eq!(scope.ok().map(|a| a.scope), Some(Scope::All));
}

//! Unit tests of loading a config: the shipped file, typed values, and errors that name the key
//! and the line.

use std::time::Duration;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

fn err(text: &str) -> String {
    let e = parse(text)
        .expect_err("config should be rejected")
        .to_string();
    assert!(!e.contains('\n'), "error must be one line: {e:?}");
    e
}

#[test]
fn the_shipped_config_toml_is_valid_and_shows_the_defaults() {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"));
    let shipped = parse(text).unwrap();
    assert_eq!(format!("{shipped:?}"), format!("{:?}", Config::default()));
}

#[test]
fn empty_file_gives_the_test_pattern_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.streams.len(), 1);
    assert_eq!(c.streams[0].id.0, "main");
    assert_eq!(c.server.listen, "0.0.0.0:8080".parse().unwrap());
}

#[test]
fn typed_values_are_parsed() {
    let c = parse(
        "[server]\nlisten = \"127.0.0.1:9000\"\nidle_resend = \"250ms\"\n\
         [[stream]]\nid = \"a\"\nsource = \"test\"\n[stream.test]\nformat = \"nv12\"\n\
         [[stream]]\nid = \"b\"\nsource = \"test\"\n[stream.encoder]\nquality = 95\nsubsampling = \"444\"\n",
    )
    .unwrap();
    assert_eq!(c.server.listen.port(), 9000);
    assert_eq!(c.server.idle_resend, Duration::from_millis(250));
    match &c.streams[0].source {
        SourceConfig::Test(t) => assert_eq!(t.format, PixelFormat::Nv12),
        other => panic!("expected the test pattern, got {other:?}"),
    }
    assert_eq!(c.streams[1].encoder.quality, Quality(95));
    assert_eq!(c.streams[1].encoder.subsampling, Subsampling::S444);
}

#[test]
fn unknown_key_names_key_and_line() {
    let e = err("[server]\nlisten = \"0.0.0.0:1\"\ncolour = 1\n");
    assert!(e.starts_with("test.toml:3:"), "{e}");
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn wrong_type_names_the_key_path_and_line() {
    let e = err("[[stream]]\nid = \"main\"\nsource = \"test\"\n[stream.test]\nfps = \"fast\"\n");
    assert!(e.starts_with("test.toml:5: stream[0].test.fps:"), "{e}");
}

#[test]
fn bad_address_enum_and_duration_are_rejected() {
    assert!(err("[server]\nlisten = \"nope\"\n").contains("server.listen"));
    assert!(err("[logging]\nrotation = \"weekly\"\n").contains("logging.rotation"));
    let e = err("[server]\nwrite_timeout = \"soon\"\n");
    assert!(e.starts_with("test.toml:2: server.write_timeout"), "{e}");
    let e = err("[[stream]]\nid = \"m\"\nsource = \"webcam\"\n");
    assert!(e.contains("stream[0].source"), "{e}");
}

#[test]
fn semantic_errors_name_the_key_and_line() {
    let e = err(
        "[[stream]]\nid = \"a\"\nsource = \"test\"\n[[stream]]\nid = \"a\"\nsource = \"test\"\n",
    );
    assert!(e.starts_with("test.toml:5: stream[1].id: duplicate"), "{e}");
    let e = err("[[stream]]\nid = \"a\"\nsource = \"test\"\n[stream.encoder]\nquality = 0\n");
    assert!(
        e.starts_with("test.toml:5: stream[0].encoder.quality"),
        "{e}"
    );
    let e = err("[[stream]]\nid = \"has space\"\nsource = \"test\"\n");
    assert!(e.starts_with("test.toml:2: stream[0].id"), "{e}");
    let e = err("[server]\nmax_clients = 0\n");
    assert!(e.starts_with("test.toml:2: server.max_clients"), "{e}");
}

#[test]
fn syntax_errors_have_a_line() {
    let e = err("[server\nlisten = 1\n");
    assert!(e.starts_with("test.toml:1"), "{e}");
}

#[test]
fn unreadable_file_names_the_path() {
    let e = Config::load(Path::new("/nonexistent/streamserver.toml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/streamserver.toml"));
}

#[test]
fn listen_takes_one_address_or_a_list() {
    let c = parse("[server]\nlisten = \"127.0.0.1:9000\"\n").unwrap();
    assert_eq!(c.server.listen.0, vec!["127.0.0.1:9000".parse().unwrap()]);
    let c = parse("[server]\nlisten = [\"0.0.0.0:8080\", \"[::]:8080\"]\n").unwrap();
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:8080, [::]:8080");
    let e = err("[server]\nlisten = []\n");
    assert!(
        e.starts_with("test.toml:2: server.listen: an empty list"),
        "{e}"
    );
    let e = err("[server]\nlisten = [\"[::1]:1\", \"[::1]:1\"]\n");
    assert!(e.contains("listed twice"), "{e}");
    let e = err("[server]\n\nlisten = [\"localhost:80\"]\n");
    assert!(e.starts_with("test.toml:3: server.listen"), "{e}");
}

#[test]
fn security_options_parse_and_bad_ones_name_the_key() {
    let c = parse(
        "[server]\nmax_connections_per_address = 4\nmax_pending_connections = 10\n\
         cors_origins = [\"https://dash.example.org\", \"http://10.0.0.5:3000\"]\n\
         [server.tls]\ncert = \"/etc/ssl/c.pem\"\nkey = \"/etc/ssl/k.pem\"\n",
    )
    .unwrap();
    assert_eq!(c.server.max_connections_per_address, 4);
    assert_eq!(c.server.max_pending_connections, 10);
    assert_eq!(c.server.cors_origins.len(), 2);
    assert_eq!(
        c.server.tls.unwrap().key,
        std::path::PathBuf::from("/etc/ssl/k.pem")
    );
    let e = err("[server]\ncors_origins = [\"https://x.org/path\"]\n");
    assert!(
        e.starts_with("test.toml:2: server.cors_origins: \"https://x.org/path\" is not an origin"),
        "{e}"
    );
    let e = err("[server]\nmax_pending_connections = 0\n");
    assert!(
        e.starts_with("test.toml:2: server.max_pending_connections"),
        "{e}"
    );
    let e = err("[server.tls]\ncert = \"c.pem\"\n");
    assert!(e.contains("server.tls") && e.contains("key"), "{e}");
}

#[test]
fn users_are_checked_with_errors_naming_key_and_line() {
    let stream = "[[stream]]\nid = \"front\"\nsource = \"test\"\n";
    let c = parse(&format!(
        "{stream}[[user]]\nname = \"anonymous\"\nview = [\"front\"]\n"
    ))
    .unwrap();
    assert_eq!(c.users.len(), 1);
    let e = err(&format!(
        "{stream}[[user]]\nname = \"anonymous\"\nview = true\n[[user]]\nname = \"anonymous\"\nview = [\"back\"]\n"
    ));
    assert!(
        e.starts_with("test.toml:9: user[1].view: unknown stream id \"back\""),
        "{e}"
    );
    let e = err(&format!(
        "{stream}\n[[user]]\nname = \"bob\"\nview = true\n"
    ));
    assert!(
        e.starts_with("test.toml:6: user[0].name: user \"bob\" has neither"),
        "{e}"
    );
    let e = err(&format!(
        "{stream}[[user]]\nname = \"bob\"\npassword_hash = \"hunter2\"\nview = true\n"
    ));
    assert!(
        e.starts_with("test.toml:6: user[0].password_hash: this is not a password hash"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn overlay_settings_parse_and_bad_ones_name_their_key() {
    let head = "[[stream]]\nid = \"a\"\nsource = \"test\"\n[stream.overlay]\n";
    let c = parse(&format!(
        "{head}text = \"%H:%M cam\"\nposition = \"bottom-right\"\nscale = 3\n"
    ))
    .unwrap();
    assert_eq!(c.streams[0].overlay.text, "%H:%M cam");
    assert_eq!(c.streams[0].overlay.position, OverlayPosition::BottomRight);
    let e = err(&format!("{head}text = \"%Q\"\n"));
    assert!(e.starts_with("test.toml:5: stream[0].overlay.text"), "{e}");
    let e = err(&format!("{head}text = \"caf\u{e9}\"\n"));
    assert!(e.contains("printable ASCII"), "{e}");
    let e = err(&format!("{head}scale = 99\n"));
    assert!(e.starts_with("test.toml:5: stream[0].overlay.scale"), "{e}");
}

#[test]
fn an_overlay_on_a_source_of_finished_jpegs_is_refused_naming_the_key_and_line() {
    let e = err(
        "[[stream]]\nid = \"a\"\nsource = \"folder\"\n[stream.folder]\npath = \"/tmp\"\n\
         [stream.overlay]\ntext = \"lab\"\n",
    );
    assert!(e.starts_with("test.toml:7: stream[0].overlay.text"), "{e}");
    assert!(e.contains("folder source delivers finished JPEGs"), "{e}");
}

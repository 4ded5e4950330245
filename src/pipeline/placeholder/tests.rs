//! Unit tests of `placeholder`.

use super::*;
use std::time::Duration;

#[test]
fn utc_formats_known_dates() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(utc(t), "2023-11-14 22:13:20 UTC");
    assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
}

#[test]
fn wrap_breaks_lines_and_cuts_long_words() {
    assert_eq!(wrap("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
    assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
}

#[test]
fn placeholder_is_a_jpeg_of_the_stream_size() {
    let jpeg = render("cam", "camera unplugged", SystemTime::now(), 320, 240).unwrap();
    let header = turbojpeg::read_header(&jpeg).unwrap();
    assert_eq!((header.width, header.height), (320, 240));
}

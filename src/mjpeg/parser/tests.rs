//! Unit and property tests of the multipart parser: every accepted stream shape, any chunking,
//! limits, and garbage that must neither panic nor grow the buffer.

use super::*;
use proptest::prelude::*;

fn jpeg(fill: u8, len: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    v.extend(std::iter::repeat_n(fill, len));
    v.extend([0xFF, 0xD9]);
    v
}

fn small_limits() -> Limits {
    Limits {
        max_part_bytes: 4096,
        max_header_bytes: 256,
    }
}

/// Feeds `stream` in chunks of `chunk` bytes and collects every part, or the first error.
fn parse_chunked(
    boundary: &str,
    stream: &[u8],
    chunk: usize,
    limits: Limits,
) -> Result<Vec<Part>, MultipartError> {
    let mut p = MultipartParser::new(boundary, limits).unwrap();
    let mut parts = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        p.push(piece);
        while let Some(part) = p.next_part()? {
            parts.push(part);
        }
    }
    parts.extend(p.finish()?);
    Ok(parts)
}

fn bodies(parts: &[Part]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.body.to_vec()).collect()
}

#[test]
fn boundary_from_content_type_handles_quotes_case_and_dashes() {
    let b = boundary_from_content_type;
    assert_eq!(
        b("multipart/x-mixed-replace;boundary=streamserver-boundary").as_deref(),
        Some("streamserver-boundary")
    );
    assert_eq!(
        b("multipart/x-mixed-replace; Boundary=\"--myboundary\"").as_deref(),
        Some("--myboundary")
    );
    assert_eq!(
        b("Multipart/X-Mixed-Replace; charset=x; boundary = frame ").as_deref(),
        Some("frame")
    );
    assert_eq!(b("image/jpeg; boundary=x"), None);
    assert_eq!(b("multipart/x-mixed-replace"), None);
    assert_eq!(b("multipart/x-mixed-replace; boundary=\"\""), None);
}

#[test]
fn our_server_format_with_content_length_and_trailing_boundary() {
    let (a, b) = (jpeg(1, 100), jpeg(2, 50));
    let mut s = Vec::new();
    for (seq, body) in [(7, &a), (9, &b)] {
        if seq == 7 {
            s.extend(b"--sb\r\n");
        }
        s.extend(format!("Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: 1700000000.123456\r\nX-Frame-Seq: {seq}\r\n\r\n", body.len()).bytes());
        s.extend(body.iter());
        s.extend(b"\r\n--sb\r\n");
    }
    let parts = parse_chunked("sb", &s, 1 << 20, Limits::default()).unwrap();
    assert_eq!(bodies(&parts), vec![a, b]);
    let h = &parts[0].headers;
    assert_eq!(h.content_length, Some(104));
    assert_eq!(h.frame_seq, Some(7));
    assert_eq!(h.timestamp, Some(1_700_000_000.123456));
    assert_eq!(h.get("content-TYPE"), Some("image/jpeg"));
    assert_eq!(parts[1].headers.frame_seq, Some(9));
}

#[test]
fn sized_body_may_contain_the_boundary() {
    let body = b"xx\r\n--sb\r\nyy".to_vec();
    let mut s = b"--sb\r\nContent-Length: 12\r\n\r\n".to_vec();
    s.extend(&body);
    s.extend(b"\r\n--sb\r\n");
    let parts = parse_chunked("sb", &s, 3, Limits::default()).unwrap();
    assert_eq!(bodies(&parts), vec![body]);
}

#[test]
fn sized_part_is_returned_before_the_next_boundary_arrives() {
    let mut p = MultipartParser::new("sb", Limits::default()).unwrap();
    p.push(b"--sb\r\nContent-Length: 4\r\n\r\nabcd");
    assert_eq!(&p.next_part().unwrap().unwrap().body[..], b"abcd");
    assert_eq!(p.next_part().unwrap(), None);
}

#[test]
fn mjpg_streamer_style_without_length_quoted_dashed_boundary_lf_only() {
    // Boundary declared as "--myboundary", written as "--myboundary" (not "----myboundary").
    let (a, b) = (jpeg(3, 40), jpeg(4, 41));
    let mut s = Vec::new();
    for body in [&a, &b] {
        s.extend(b"--myboundary\nContent-Type: image/jpeg\n\n");
        s.extend(body.iter());
        s.extend(b"\n\n");
    }
    let boundary =
        boundary_from_content_type("multipart/x-mixed-replace;boundary=\"--myboundary\"").unwrap();
    for chunk in [1, 2, 7, 1000] {
        let parts = parse_chunked(&boundary, &s, chunk, Limits::default()).unwrap();
        assert_eq!(bodies(&parts), vec![a.clone(), b.clone()], "chunk {chunk}");
    }
}

#[test]
fn boundary_without_leading_dashes_headerless_parts_extra_crlfs_and_repeats() {
    let (a, b) = (jpeg(5, 10), jpeg(6, 11));
    let mut s = b"preamble junk\r\n".to_vec();
    s.extend(b"frame\r\n\r\n");
    s.extend(&a);
    s.extend(b"junk\r\n\r\n\r\n--frame  \r\n--frame\r\nX-Frame-Seq: 2\r\n\r\n\r\n");
    s.extend(&b);
    // The closing delimiter right after the EOI, without a line break.
    s.extend(b"--frame--\r\nignored");
    let parts = parse_chunked("frame", &s, 1, Limits::default()).unwrap();
    assert_eq!(bodies(&parts), vec![a, b]);
    assert_eq!(parts[0].headers, PartHeaders::default());
    assert_eq!(parts[1].headers.frame_seq, Some(2));
}

#[test]
fn boundary_text_inside_an_unsized_jpeg_does_not_cut_it() {
    let mut a = jpeg(7, 10);
    a.splice(5..5, b"--frame\r\n".iter().copied());
    let mut s = b"--frame\r\n\r\n".to_vec();
    s.extend(&a);
    s.extend(b"\r\n--frame\r\n");
    let parts = parse_chunked("frame", &s, 1, Limits::default()).unwrap();
    assert_eq!(bodies(&parts), vec![a]);
}

#[test]
fn garbage_after_a_sized_body_is_skipped_to_the_next_boundary() {
    let mut s =
        b"--b\r\nContent-Length: 3\r\n\r\nabcXYZ junk\r\n--b\r\nContent-Length: 2\r\n\r\nde"
            .to_vec();
    s.extend(b"\r\n--b\r\n");
    let mut p = MultipartParser::new("b", Limits::default()).unwrap();
    p.push(&s);
    assert_eq!(&p.next_part().unwrap().unwrap().body[..], b"abc");
    assert_eq!(&p.next_part().unwrap().unwrap().body[..], b"de");
    assert_eq!(p.resyncs(), 1);
}

#[test]
fn huge_parts_and_headers_are_rejected_without_buffering_them() {
    let limits = small_limits();
    let declared = b"--b\r\nContent-Length: 5000\r\n\r\n";
    assert_eq!(
        parse_chunked("b", declared, 100, limits),
        Err(MultipartError::PartTooLarge { limit: 4096 })
    );
    let mut p = MultipartParser::new("b", limits).unwrap();
    p.push(b"--b\r\n\r\n\xFF\xD8");
    let mut result = Ok(None);
    for _ in 0..100 {
        p.push(&[0xAB; 100]);
        result = p.next_part();
        assert!(p.buffered() <= 4096 + 100, "{}", p.buffered());
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(MultipartError::PartTooLarge { limit: 4096 }));
    assert_eq!(
        p.next_part(),
        Err(MultipartError::PartTooLarge { limit: 4096 })
    );
    let mut long_header = b"--b\r\nX-Long: ".to_vec();
    long_header.extend([b'a'; 300]);
    assert_eq!(
        parse_chunked("b", &long_header, 10, limits),
        Err(MultipartError::HeaderTooLarge { limit: 256 })
    );
}

#[test]
fn malformed_headers_and_truncated_streams_are_errors() {
    let r = parse_chunked(
        "b",
        b"--b\r\nnot a header\r\n\r\nbody",
        4,
        Limits::default(),
    );
    assert!(matches!(r, Err(MultipartError::Malformed(_))), "{r:?}");
    let r = parse_chunked(
        "b",
        b"--b\r\nContent-Length: x\r\n\r\n",
        4,
        Limits::default(),
    );
    assert!(matches!(r, Err(MultipartError::Malformed(_))), "{r:?}");
    let r = parse_chunked(
        "b",
        b"--b\r\nContent-Length: 9\r\n\r\nabc",
        4,
        Limits::default(),
    );
    assert!(matches!(r, Err(MultipartError::Malformed(_))), "{r:?}");
    let mut cut = b"--b\r\n\r\n".to_vec();
    cut.extend(&jpeg(1, 5)[..5]);
    let r = parse_chunked("b", &cut, 4, Limits::default());
    assert!(matches!(r, Err(MultipartError::Malformed(_))), "{r:?}");
    assert!(MultipartParser::new("", Limits::default()).is_err());
    let r = parse_chunked("b", &[b'x'; 5000], 64, small_limits());
    assert!(matches!(r, Err(MultipartError::Malformed(_))), "{r:?}");
}

#[test]
fn last_unsized_part_is_delivered_at_end_of_stream() {
    let a = jpeg(9, 20);
    let mut s = b"--b\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
    s.extend(&a);
    s.extend(b"\r\n");
    assert_eq!(
        bodies(&parse_chunked("b", &s, 5, Limits::default()).unwrap()),
        vec![a]
    );
}

/// A generated part: sized (any bytes) or unsized (a JPEG without the boundary's `B`).
fn arb_part() -> impl Strategy<Value = (bool, Vec<u8>, Option<u64>)> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(sized, mut bytes, seq)| {
            if !sized {
                bytes
                    .iter_mut()
                    .filter(|b| **b == b'B')
                    .for_each(|b| *b = b'b');
                bytes.splice(0..0, SOI);
                bytes.extend(EOI);
            }
            (sized, bytes, seq)
        })
}

/// Serialises parts in one of several server styles.
fn serialise(parts: &[(bool, Vec<u8>, Option<u64>)], style: u8) -> Vec<u8> {
    let nl: &[u8] = if style & 1 == 0 { b"\r\n" } else { b"\n" };
    let delim = |s: &mut Vec<u8>| {
        s.extend(b"--xBx");
        s.extend(nl);
    };
    let mut s = Vec::new();
    delim(&mut s);
    for (sized, body, seq) in parts {
        if style & 2 != 0 {
            s.extend(nl);
        }
        s.extend(b"Content-Type: image/jpeg");
        s.extend(nl);
        if *sized {
            s.extend(format!("Content-Length: {}", body.len()).bytes());
            s.extend(nl);
        }
        if let Some(seq) = seq {
            s.extend(format!("x-frame-seq: {seq}").bytes());
            s.extend(nl);
        }
        s.extend(nl);
        s.extend(body);
        s.extend(nl);
        delim(&mut s);
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_chunking_of_a_valid_stream_yields_the_same_parts(
        parts in proptest::collection::vec(arb_part(), 0..8),
        style in 0u8..4,
        cuts in proptest::collection::vec(1usize..64, 1..200),
    ) {
        let stream = serialise(&parts, style);
        let whole = parse_chunked("xBx", &stream, stream.len(), Limits::default()).unwrap();
        prop_assert_eq!(bodies(&whole), parts.iter().map(|p| p.1.clone()).collect::<Vec<_>>());
        prop_assert_eq!(
            whole.iter().map(|p| p.headers.frame_seq).collect::<Vec<_>>(),
            parts.iter().map(|p| p.2).collect::<Vec<_>>()
        );
        let mut p = MultipartParser::new("xBx", Limits::default()).unwrap();
        let mut got = Vec::new();
        let (mut at, mut i) = (0, 0);
        while at < stream.len() {
            let n = cuts[i % cuts.len()].min(stream.len() - at);
            p.push(&stream[at..at + n]);
            while let Some(part) = p.next_part().unwrap() {
                got.push(part);
            }
            at += n;
            i += 1;
        }
        got.extend(p.finish().unwrap());
        prop_assert_eq!(got, whole);
    }

    #[test]
    fn garbage_never_panics_and_stays_bounded(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just(b"--b".to_vec()), Just(b"b".to_vec()), Just(b"\r\n".to_vec()),
                Just(b"\n".to_vec()), Just(b"--".to_vec()), Just(vec![0xFF, 0xD8]),
                Just(vec![0xFF, 0xD9]), Just(b"Content-Length: 12\r\n".to_vec()),
                Just(b"X-Frame-Seq: x".to_vec()), Just(b": ".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..40),
            ],
            0..300,
        ),
        chunk in 1usize..50,
    ) {
        let limits = Limits { max_part_bytes: 200, max_header_bytes: 64 };
        let stream = pieces.concat();
        let mut p = MultipartParser::new("b", limits).unwrap();
        for piece in stream.chunks(chunk) {
            p.push(piece);
            while let Ok(Some(part)) = p.next_part() {
                prop_assert!(part.body.len() <= 200);
            }
            prop_assert!(p.buffered() <= 200 + 100, "buffered {}", p.buffered());
        }
        let _ = p.finish();
    }
}

//! The colour bars of libcamera's virtual camera ("Virtual0"), checked in a decoded frame:
//! the 8 bar colours in their cyclic order (so R/B or U/V swaps show), vertical. Shared by the
//! helper's `tests/virtual_camera.rs` and the server's `tests/camera.rs` (via `#[path]`).
#![allow(dead_code)] // each including file uses a part

/// Decodes a JPEG to packed RGB.
pub fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut d = turbojpeg::Decompressor::new().unwrap();
    let header = d.read_header(jpeg).expect("a JPEG");
    let (w, h) = (header.width, header.height);
    let mut pixels = vec![0u8; w * h * 3];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    d.decompress(jpeg, image).expect("decodes");
    (w, h, pixels)
}

/// The colour bars' order (libcamera's virtual camera, left to right, cyclic): each colour as
/// its R, G, B bits (channel above half).
const BARS: [u8; 8] = [0b111, 0b110, 0b011, 0b010, 0b101, 0b100, 0b001, 0b000];

/// Colour names for messages.
fn names(colours: &[u8]) -> Vec<&'static str> {
    const NAMES: [&str; 8] = [
        "black", "blue", "green", "cyan", "red", "magenta", "yellow", "white",
    ];
    colours.iter().map(|&c| NAMES[c as usize & 7]).collect()
}

/// The runs of saturated colours along row `y`, as (colour bits, run length).
fn colour_runs(w: usize, pixels: &[u8], y: usize) -> Vec<(u8, usize)> {
    let mut runs: Vec<(u8, usize)> = Vec::new();
    for x in 0..w {
        let p = &pixels[(y * w + x) * 3..][..3];
        let bits = p.iter().fold(0u8, |acc, &c| (acc << 1) | u8::from(c > 128));
        let clear = p.iter().all(|&c| !(64..=192).contains(&c));
        match runs.last_mut() {
            Some((b, n)) if *b == bits => *n += 1,
            _ if clear => runs.push((bits, 1)),
            _ => {}
        }
    }
    runs.into_iter().filter(|&(_, n)| n >= w / 32).collect()
}

/// Asserts the frame shows vertical colour bars in the virtual camera's order.
pub fn assert_colour_bars(jpeg: &[u8]) {
    let (w, h, pixels) = decode(jpeg);
    assert_eq!((w, h), (640, 480));
    check_bars(w, h, &pixels);
}

/// Asserts the frame is the virtual camera's 640×480 picture turned 90° clockwise: 480×640,
/// horizontal bars in the cyclic order from top to bottom (turned back, the usual check).
pub fn assert_colour_bars_turned_clockwise(jpeg: &[u8]) {
    let (rw, rh, turned) = decode(jpeg);
    assert_eq!(
        (rw, rh),
        (480, 640),
        "a quarter turn swaps width and height"
    );
    let (w, h) = (rh, rw);
    let mut pixels = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            // Clockwise, source (x, y) went to (h - 1 - y, x).
            let from = (x * rw + (h - 1 - y)) * 3;
            pixels[(y * w + x) * 3..][..3].copy_from_slice(&turned[from..from + 3]);
        }
    }
    check_bars(w, h, &pixels);
}

fn check_bars(w: usize, h: usize, pixels: &[u8]) {
    let rows: Vec<Vec<(u8, usize)>> = [h / 4, h / 2, 3 * h / 4]
        .iter()
        .map(|&y| colour_runs(w, pixels, y))
        .collect();
    let colours: Vec<u8> = rows[1].iter().map(|r| r.0).collect();
    let mut distinct = colours.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() >= 7,
        "expected the 8 bar colours along the middle row, got {:?}",
        names(&colours)
    );
    // Neighbouring bars follow the bars' cyclic order (so R/B or U/V are not swapped).
    for pair in colours.windows(2) {
        let i = BARS.iter().position(|&b| b == pair[0]).unwrap();
        assert_eq!(
            BARS[(i + 1) % 8],
            pair[1],
            "bars out of order: {:?}",
            names(&colours)
        );
    }
    // Vertical bars: the same colours at a quarter and three quarters of the height.
    for row in [&rows[0], &rows[2]] {
        let c: Vec<u8> = row.iter().map(|r| r.0).collect();
        assert_eq!(c, colours, "bars are not vertical");
    }
}

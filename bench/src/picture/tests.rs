//! Unit tests of `picture`.

use super::*;
use streamserver::pipeline::encoder::Encoder;

#[test]
fn every_format_encodes_to_the_same_looking_picture() {
    let mut enc = Encoder::new(&Default::default()).unwrap();
    let decoded: Vec<Vec<u8>> = PixelFormat::ALL
        .iter()
        .map(|&f| {
            let jpeg = enc.encode(&Picture::new(f, 161, 121).raw()).unwrap();
            turbojpeg::decompress(&jpeg, turbojpeg::PixelFormat::RGB)
                .unwrap()
                .pixels
        })
        .collect();
    for other in &decoded[1..] {
        let diff: u64 = decoded[0]
            .iter()
            .zip(other)
            .map(|(a, b)| a.abs_diff(*b) as u64)
            .sum();
        let mean = diff as f64 / decoded[0].len() as f64;
        assert!(mean < 6.0, "mean abs difference {mean}");
    }
}

#[test]
fn the_picture_is_not_flat() {
    // A flat picture would compress to almost nothing at q80.
    let mut enc = Encoder::new(&Default::default()).unwrap();
    let jpeg = enc
        .encode(&Picture::new(PixelFormat::Rgb888, 640, 480).raw())
        .unwrap();
    assert!(jpeg.len() > 640 * 480 / 10, "{} bytes", jpeg.len());
}

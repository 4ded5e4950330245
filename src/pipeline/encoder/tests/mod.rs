//! Unit tests of the encoder: every pixel format at odd and even sizes with padded strides,
//! decoded back with libjpeg-turbo and checked colour by colour; settings; typed input errors.

use super::*;

mod frames;

use frames::*;

/// Per-channel tolerance after a q90 round trip of flat colours.
const TOLERANCE: i32 = 12;
/// Sizes with odd widths and heights; the quadrant split is a multiple of 16 (MCU-aligned).
const SIZES: [(usize, usize); 5] = [(32, 32), (47, 35), (99, 67), (33, 50), (640, 480)];

fn encoder(quality: u8, subsampling: Subsampling) -> Encoder {
    Encoder::new(&EncoderConfig {
        quality: Quality(quality),
        subsampling,
        ..EncoderConfig::default()
    })
    .expect("encoder")
}

fn decode(jpeg: &[u8]) -> turbojpeg::Image<Vec<u8>> {
    turbojpeg::decompress(jpeg, turbojpeg::PixelFormat::RGB).expect("decodable JPEG")
}

/// Asserts every decoded pixel away from the quadrant borders is near its quadrant's colour.
fn assert_quadrants(jpeg: &[u8], w: usize, h: usize, what: &str) {
    let img = decode(jpeg);
    assert_eq!((img.width, img.height), (w, h), "{what}: decoded size");
    let (sx, sy) = split(w, h);
    let mut checked = 0;
    for y in 0..h {
        for x in 0..w {
            // Chroma upsampling blends across a border: skip 2 pixels each side.
            if x.abs_diff(sx) <= 2 || y.abs_diff(sy) <= 2 {
                continue;
            }
            let want = quadrant_colour(x, y, (sx, sy));
            let got = &img.pixels[y * img.pitch + x * 3..][..3];
            for c in 0..3 {
                assert!(
                    (got[c] as i32 - want[c] as i32).abs() <= TOLERANCE,
                    "{what}: pixel ({x},{y}) is {got:?}, want about {want:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > w * h / 2, "{what}: only {checked} pixels checked");
}

#[test]
fn every_format_decodes_to_the_right_colours_at_odd_sizes_and_padded_strides() {
    let mut enc = encoder(90, Subsampling::S420);
    for format in PixelFormat::ALL {
        for (w, h) in SIZES {
            for pad in [0, 5, 64] {
                let frame = TestFrame::quadrants(format, w, h, pad);
                let jpeg = enc.encode(&frame.raw()).expect("encode");
                let what = format!("{} {w}x{h} pad {pad}", format.name());
                assert_quadrants(&jpeg, w, h, &what);
            }
        }
    }
}

#[test]
fn every_format_of_the_same_picture_gives_the_same_picture() {
    // RGB and BGR are the same bytes in another order: identical JPEGs. I420 and NV12 are the
    // same planes in another layout: identical JPEGs too.
    let mut enc = encoder(85, Subsampling::S420);
    let (w, h) = (99, 67);
    let mut jpeg = |f| enc.encode(&TestFrame::quadrants(f, w, h, 3).raw()).unwrap();
    let (rgb, bgr) = (jpeg(PixelFormat::Rgb888), jpeg(PixelFormat::Bgr888));
    let (i420, nv12) = (jpeg(PixelFormat::Yuv420), jpeg(PixelFormat::Nv12));
    assert_eq!(rgb, bgr);
    assert_eq!(i420, nv12);
}

#[test]
fn tiny_frames_encode() {
    let mut enc = encoder(90, Subsampling::S420);
    for format in PixelFormat::ALL {
        for (w, h) in [(1, 1), (2, 1), (1, 2), (3, 3)] {
            let frame = TestFrame::new(format, w, h, 1, |_, _| BLUE);
            let jpeg = enc.encode(&frame.raw()).expect("encode");
            let img = decode(&jpeg);
            assert_eq!((img.width, img.height), (w, h));
            let px = &img.pixels[..3];
            assert!(px[2] > 200 && px[0] < 40, "{format:?} {w}x{h}: {px:?}");
        }
    }
}

#[test]
fn a_plane_without_padding_after_its_last_row_is_accepted() {
    let mut enc = encoder(80, Subsampling::S420);
    for format in PixelFormat::ALL {
        let mut frame = TestFrame::quadrants(format, 47, 35, 9);
        let rows = format.plane_rows(35);
        let mins = format.min_strides(47);
        for (i, (data, stride)) in frame.planes.iter_mut().enumerate() {
            data.truncate(*stride * (rows[i] - 1) + mins[i]);
        }
        let jpeg = enc.encode(&frame.raw()).expect("exact-length planes");
        assert_quadrants(&jpeg, 47, 35, format.name());
    }
}

/// A picture with detail, so quality changes the size.
fn noisy(format: PixelFormat) -> TestFrame {
    let noise = garbage(160 * 120, 99);
    TestFrame::new(format, 160, 120, 0, |x, y| {
        let n = noise[y * 160 + x] / 4;
        [(x as u8).wrapping_add(n), (y * 2) as u8, n.wrapping_mul(3)]
    })
}

#[test]
fn higher_quality_gives_bigger_jpegs_in_every_format() {
    for format in PixelFormat::ALL {
        let frame = noisy(format);
        let sizes: Vec<usize> = [20, 60, 95]
            .iter()
            .map(|&q| {
                encoder(q, Subsampling::S420)
                    .encode(&frame.raw())
                    .unwrap()
                    .len()
            })
            .collect();
        assert!(
            sizes[0] < sizes[1] && sizes[1] < sizes[2],
            "{format:?}: sizes {sizes:?}"
        );
    }
}

#[test]
fn subsampling_setting_shows_in_the_header_for_rgb_input() {
    let frame = noisy(PixelFormat::Rgb888);
    let mut sizes = Vec::new();
    for (setting, want) in [
        (Subsampling::S444, Subsamp::None),
        (Subsampling::S422, Subsamp::Sub2x1),
        (Subsampling::S420, Subsamp::Sub2x2),
        (Subsampling::Gray, Subsamp::Gray),
    ] {
        let jpeg = encoder(80, setting).encode(&frame.raw()).unwrap();
        let header = turbojpeg::read_header(&jpeg).unwrap();
        assert_eq!(header.subsamp, want, "{setting:?}");
        assert_eq!((header.width, header.height), (160, 120));
        sizes.push(jpeg.len());
    }
    // Less chroma, fewer bytes: 4:4:4 > 4:2:2 > 4:2:0 > gray.
    assert!(sizes.windows(2).all(|w| w[0] > w[1]), "sizes {sizes:?}");
}

#[test]
fn gray_output_has_no_colour() {
    let frame = TestFrame::quadrants(PixelFormat::Bgr888, 64, 64, 0);
    let jpeg = encoder(90, Subsampling::Gray).encode(&frame.raw()).unwrap();
    let img = decode(&jpeg);
    for px in img.pixels.chunks_exact(3) {
        assert!(px[0] == px[1] && px[1] == px[2], "{px:?}");
    }
}

#[test]
fn yuv_input_stays_420_and_rgb_after_yuv_uses_the_setting_again() {
    // One encoder, formats interleaved: compressing planes switches libjpeg-turbo to 4:2:0,
    // the next RGB frame must get the configured subsampling back.
    let mut enc = encoder(80, Subsampling::S444);
    for format in [
        PixelFormat::Rgb888,
        PixelFormat::Yuv420,
        PixelFormat::Bgr888,
        PixelFormat::Nv12,
        PixelFormat::Rgb888,
    ] {
        let jpeg = enc.encode(&noisy(format).raw()).unwrap();
        let want = match format {
            PixelFormat::Yuv420 | PixelFormat::Nv12 => Subsamp::Sub2x2,
            _ => Subsamp::None,
        };
        let header = turbojpeg::read_header(&jpeg).unwrap();
        assert_eq!(header.subsamp, want, "{format:?}");
    }
}

#[test]
fn reused_buffers_give_the_same_bytes_as_a_fresh_encoder() {
    // Big then small then big: a stale longer buffer or chroma plane must not leak in.
    let mut reused = encoder(75, Subsampling::S420);
    for format in PixelFormat::ALL {
        for (w, h) in [(640, 480), (47, 35), (99, 67), (640, 480)] {
            let frame = TestFrame::quadrants(format, w, h, 2);
            let fresh = encoder(75, Subsampling::S420).encode(&frame.raw()).unwrap();
            assert_eq!(
                reused.encode(&frame.raw()).unwrap(),
                fresh,
                "{format:?} {w}x{h}"
            );
        }
    }
}

#[test]
fn encoding_into_lent_memory_gives_the_same_bytes_and_too_little_is_an_error() {
    let mut enc = encoder(75, Subsampling::S420);
    for format in PixelFormat::ALL {
        let frame = noisy(format);
        let own = enc.encode(&frame.raw()).unwrap();
        let mut lent = vec![0u8; own.len() + 10];
        let len = enc.encode_into(&frame.raw(), &mut lent).unwrap();
        assert_eq!(&lent[..len], &own[..], "{format:?}");
        let mut short = vec![0u8; own.len() - 1];
        let err = enc.encode_into(&frame.raw(), &mut short).unwrap_err();
        assert!(matches!(err, EncodeError::Turbo(_)), "{format:?}: {err}");
        // The failed encode leaves the encoder usable.
        assert_eq!(enc.encode(&frame.raw()).unwrap(), own, "{format:?}");
    }
}

#[test]
fn quality_outside_1_to_100_is_rejected() {
    for q in [0, 101, 255] {
        let err = Encoder::new(&EncoderConfig {
            quality: Quality(q),
            ..EncoderConfig::default()
        })
        .err()
        .expect("rejected");
        assert!(
            matches!(err, EncodeError::BadQuality(got) if got == q),
            "{err}"
        );
    }
    for q in [1, 100] {
        assert_eq!(encoder(q, Subsampling::S420).quality(), q);
    }
}

#[test]
fn empty_frames_are_rejected() {
    let mut enc = encoder(80, Subsampling::S420);
    for (w, h) in [(0, 10), (10, 0), (0, 0)] {
        let frame = RawFrame {
            format: PixelFormat::Rgb888,
            width: w,
            height: h,
            planes: [Plane {
                data: &[0; 64],
                stride: 30,
            }; 3],
        };
        let err = enc.encode(&frame).unwrap_err();
        assert!(matches!(err, EncodeError::Empty { width, height } if (width, height) == (w, h)));
    }
}

#[test]
fn a_short_plane_is_a_typed_error_for_every_plane_of_every_format() {
    let mut enc = encoder(80, Subsampling::S420);
    for format in PixelFormat::ALL {
        for short in 0..format.planes() {
            let mut frame = TestFrame::quadrants(format, 47, 35, 4);
            let rows = format.plane_rows(35);
            let mins = format.min_strides(47);
            let (data, stride) = &mut frame.planes[short];
            let need = *stride * (rows[short] - 1) + mins[short];
            data.truncate(need - 1);
            let err = enc.encode(&frame.raw()).unwrap_err();
            match err {
                EncodeError::ShortPlane {
                    plane,
                    got,
                    need: n,
                    ..
                } => assert_eq!((plane, got, n), (short, need - 1, need), "{format:?}"),
                other => panic!("{format:?} plane {short}: {other}"),
            }
        }
    }
}

#[test]
fn a_stride_below_the_row_size_is_a_typed_error() {
    let mut enc = encoder(80, Subsampling::S420);
    for format in PixelFormat::ALL {
        for bad in 0..format.planes() {
            let mut frame = TestFrame::quadrants(format, 47, 35, 0);
            frame.planes[bad].1 -= 1;
            let err = enc.encode(&frame.raw()).unwrap_err();
            let min = format.min_strides(47)[bad];
            match err {
                EncodeError::BadStride { plane, stride, .. } => {
                    assert_eq!((plane, stride), (bad, min - 1), "{format:?}")
                }
                other => panic!("{format:?} plane {bad}: {other}"),
            }
        }
    }
}

#[test]
fn an_absurd_stride_is_a_typed_error_not_an_overflow() {
    let mut enc = encoder(80, Subsampling::S420);
    let data = [0u8; 256];
    let frame = RawFrame {
        format: PixelFormat::Yuv420,
        width: 8,
        height: 8,
        planes: [
            Plane {
                data: &data,
                stride: usize::MAX / 2,
            },
            Plane {
                data: &data,
                stride: 4,
            },
            Plane {
                data: &data,
                stride: 4,
            },
        ],
    };
    let err = enc.encode(&frame).unwrap_err();
    assert!(
        matches!(err, EncodeError::ShortPlane { plane: 0, .. }),
        "{err}"
    );
}

#[test]
fn errors_name_the_format_and_plane() {
    let mut enc = encoder(80, Subsampling::S420);
    let mut frame = TestFrame::quadrants(PixelFormat::Nv12, 47, 35, 0);
    frame.planes[1].0.truncate(10);
    let msg = enc.encode(&frame.raw()).unwrap_err().to_string();
    assert!(msg.contains("Nv12") && msg.contains("plane 1"), "{msg}");
}

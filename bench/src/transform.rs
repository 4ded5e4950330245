//! What picture transforms cost next to the encode they precede: the overlay (text drawn into
//! the raw frame), a quarter turn of the raw planes before encoding, and — the alternative for
//! turning — libjpeg-turbo's lossless rotation of the encoded JPEG. Interleaved per size, on the
//! natural-ish benchmark picture in YUV420 (the camera's default format); each row's cost is
//! given in ms per frame and as a share of the encode alone.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use streamserver::config::{EncoderConfig, OverlayConfig};
use streamserver::pipeline::encoder::{EncodeError, Encoder, PixelFormat};
use streamserver::pipeline::overlay::{FrameMut, Overlay};
use streamserver::pipeline::rotate::{QuarterTurn, Rotator};
use turbojpeg::{Transform, TransformOp, Transformer};

use crate::picture::Picture;
use crate::timing::{interleaved, ms, Case};

/// Sizes measured.
pub const SIZES: [(usize, usize); 2] = [(1280, 720), (1920, 1080)];
const CHECKED: &str = "ran once before timing";

#[derive(Debug, thiserror::Error)]
pub enum TransformBenchError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("libjpeg-turbo transform: {0}")]
    Turbo(#[from] turbojpeg::Error),
}

/// Runs every size for `per_case` per case; returns the Markdown table.
pub fn run(per_case: Duration) -> Result<String, TransformBenchError> {
    let mut out = String::from(
        "YUV420, quality 80, one thread; ms per frame (p50 / mean) of each step alone, and its \
         p50 as a share of the encode's. The overlay is drawn into the worker's own copy of the \
         frame; turning the planes replaces that copy; the lossless turn works on the encoded JPEG.\n\n\
         | size | encode | overlay | overlay / encode | turn planes | turn / encode | lossless turn of the JPEG | lossless / encode | lossless exact? |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (w, h) in SIZES {
        eprintln!("transform {w}x{h}: timing 4 cases × {per_case:?}…");
        let row = run_size(w, h, per_case)?;
        out.push_str(&row);
    }
    Ok(out)
}

fn run_size(w: usize, h: usize, per_case: Duration) -> Result<String, TransformBenchError> {
    let pic = Picture::new(PixelFormat::Yuv420, w, h);
    let config = EncoderConfig::default();
    let overlay_config = OverlayConfig {
        text: "%Y-%m-%d %H:%M:%S  workshop camera".into(),
        ..OverlayConfig::default()
    };
    let (mut e1, mut e4) = (Encoder::new(&config)?, Encoder::new(&config)?);
    let mut overlay = Overlay::new(&overlay_config).expect("text is set");
    let mut scratch = pic.planes.clone();
    let mut rotator = Rotator::default();
    let mut transformer = Transformer::new()?;
    let turn = Transform::op(TransformOp::Rot90);
    let jpeg = e4.encode(&pic.raw())?;
    let exact = {
        let mut t = Transform::op(TransformOp::Rot90);
        t.perfect = true;
        transformer.transform_to_vec(&t, &jpeg).is_ok()
    };
    transformer.transform_to_vec(&turn, &jpeg)?;
    let mut cases = vec![
        Case {
            name: "encode".into(),
            run: Box::new(|| drop(e1.encode(&pic.raw()).expect(CHECKED))),
        },
        Case {
            // Drawn into the worker's own copy of the frame (the copy is made anyway).
            name: "overlay".into(),
            run: Box::new(|| {
                let strides = [scratch[0].1, scratch[1].1, scratch[2].1];
                let [a, b, c] = &mut scratch[..] else {
                    unreachable!("yuv420 has three planes")
                };
                let mut frame = FrameMut {
                    format: PixelFormat::Yuv420,
                    width: w,
                    height: h,
                    planes: [&mut a.0, &mut b.0, &mut c.0],
                    strides,
                };
                overlay.draw(&mut frame, SystemTime::now());
            }),
        },
        Case {
            name: "turn planes".into(),
            run: Box::new(|| {
                std::hint::black_box(
                    rotator
                        .rotate(&pic.raw(), QuarterTurn::Clockwise)
                        .into_raw(),
                );
            }),
        },
        Case {
            name: "lossless turn".into(),
            run: Box::new(|| drop(transformer.transform_to_vec(&turn, &jpeg).expect(CHECKED))),
        },
    ];
    let s = interleaved(&mut cases, per_case);
    drop(cases);
    let base = s[0].p50.as_secs_f64();
    let share = |i: usize| format!("{:.1} %", s[i].p50.as_secs_f64() / base * 100.0);
    let cell = |i: usize| format!("{} / {}", ms(s[i].p50), ms(s[i].mean));
    let mut row = String::new();
    let _ = writeln!(
        row,
        "| {w}×{h} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(0),
        cell(1),
        share(1),
        cell(2),
        share(2),
        cell(3),
        share(3),
        if exact { "yes" } else { "no: needs cropping" }
    );
    Ok(row)
}

//! `streamserver-bench encode`: time per frame of [`Encoder`] for each input format, next to
//! the minimum the same libjpeg-turbo can do (the `turbojpeg` crate's `Compressor` called
//! directly into a preallocated buffer: `compress` for RGB/BGR, `compress_yuv_planes` for I420),
//! measured interleaved in the same run, plus the system `tjbench` as an outside reference.
//! NV12 has no direct libjpeg-turbo entry point; its reference is raw I420 (so its ratio
//! includes the chroma de-interleave).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use turbojpeg::{Compressor, Image, OutputBuf, Subsamp, YuvPlanesImage};

use crate::picture::{write_ppm, Picture};
use crate::timing::{interleaved, ms, Case, Summary};
use crate::tjbench::{self, TjbenchResult};
use streamserver::config::EncoderConfig;
use streamserver::pipeline::encoder::{EncodeError, Encoder, PixelFormat};

/// The target for ours / raw (same library).
pub const RATIO_TARGET: f64 = 1.05;
pub const DEFAULT_SIZES: [(usize, usize); 3] = [(640, 480), (1280, 720), (1920, 1080)];
const QUALITY: u8 = 80;

#[derive(Debug, Clone)]
pub struct EncodeOptions {
    pub sizes: Vec<(usize, usize)>,
    /// Timed time per case (ours and raw each).
    pub per_case: Duration,
    /// Also run `tjbench` (needs libjpeg-turbo-progs).
    pub tjbench: bool,
}

/// One input format at one size.
#[derive(Debug, Clone)]
pub struct EncodeRow {
    pub width: usize,
    pub height: usize,
    pub format: PixelFormat,
    pub ours: Summary,
    pub raw: Summary,
    /// What `raw` called ("compress RGB", "compress_yuv_planes").
    pub raw_label: &'static str,
    pub jpeg_bytes: usize,
    /// `tjbench` time per frame for the matching input (RGB or YUV), if it ran.
    pub tjbench: Option<Duration>,
}

impl EncodeRow {
    pub fn ratio_p50(&self) -> f64 {
        self.ours.p50.as_secs_f64() / self.raw.p50.as_secs_f64()
    }
    pub fn ratio_mean(&self) -> f64 {
        self.ours.mean.as_secs_f64() / self.raw.mean.as_secs_f64()
    }
}

#[derive(Debug, Clone)]
pub struct EncodeReport {
    pub rows: Vec<EncodeRow>,
    /// Why `tjbench` figures are missing, if they are.
    pub tjbench_error: Option<String>,
    pub per_case: Duration,
}

/// Runs the benchmark, printing progress to stderr.
pub fn run(opts: &EncodeOptions) -> Result<EncodeReport, BenchError> {
    if let Some(&(w, h)) = opts
        .sizes
        .iter()
        .find(|(w, h)| w % 2 == 1 || h % 2 == 1 || *w == 0 || *h == 0)
    {
        return Err(BenchError::OddSize(w, h));
    }
    let mut rows = Vec::new();
    let mut tjbench_error = None;
    let tmp = std::env::temp_dir().join(format!("streamserver-bench-{}", std::process::id()));
    for &(w, h) in &opts.sizes {
        eprintln!("encode {w}x{h}: timing 7 cases × {:?}…", opts.per_case);
        let mut size_rows = run_size(w, h, opts.per_case)?;
        if opts.tjbench && tjbench_error.is_none() {
            match run_tjbench(&tmp, w, h, opts.per_case) {
                Ok(tj) => {
                    for row in &mut size_rows {
                        row.tjbench = Some(match row.format {
                            PixelFormat::Rgb888 | PixelFormat::Bgr888 => tj.from_rgb,
                            PixelFormat::Yuv420 | PixelFormat::Nv12 => tj.from_yuv,
                        });
                    }
                }
                Err(err) => tjbench_error = Some(err.to_string()),
            }
        }
        rows.extend(size_rows);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(EncodeReport {
        rows,
        tjbench_error,
        per_case: opts.per_case,
    })
}

fn run_tjbench(
    dir: &Path,
    w: usize,
    h: usize,
    per_case: Duration,
) -> Result<TjbenchResult, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let ppm = dir.join(format!("bench-{w}x{h}.ppm"));
    write_ppm(&ppm, w, h).map_err(|e| e.to_string())?;
    tjbench::run(&ppm, QUALITY, w * h, per_case.as_secs_f64()).map_err(|e| e.to_string())
}

/// Times ours for the four formats and raw for RGB, BGR and I420, interleaved.
fn run_size(w: usize, h: usize, per_case: Duration) -> Result<Vec<EncodeRow>, BenchError> {
    let settings = EncoderConfig::with_quality(QUALITY);
    let pics: Vec<Picture> = PixelFormat::ALL
        .iter()
        .map(|&f| Picture::new(f, w, h))
        .collect();
    // One encoder per format, as one per stream in the server.
    let mut ours = Vec::new();
    let mut jpeg_bytes = Vec::new();
    for pic in &pics {
        let mut enc = Encoder::new(&settings)?;
        jpeg_bytes.push(enc.encode(&pic.raw())?.len());
        ours.push(enc);
    }
    let mut raws = [Raw::new(w, h)?, Raw::new(w, h)?, Raw::new(w, h)?];
    raws[0].packed(&pics[0], turbojpeg::PixelFormat::RGB)?;
    raws[1].packed(&pics[1], turbojpeg::PixelFormat::BGR)?;
    raws[2].planes(&pics[2])?;

    let [o_rgb, o_bgr, o_i420, o_nv12] = &mut ours[..] else {
        unreachable!("four formats")
    };
    let [r_rgb, r_bgr, r_i420] = &mut raws;
    let (p_rgb, p_bgr, p_i420, p_nv12) = (&pics[0], &pics[1], &pics[2], &pics[3]);
    let mut cases = vec![
        ours_case("rgb", o_rgb, p_rgb),
        Case {
            name: "raw rgb".into(),
            run: Box::new(|| {
                r_rgb
                    .packed(p_rgb, turbojpeg::PixelFormat::RGB)
                    .expect(CHECKED);
            }),
        },
        ours_case("bgr", o_bgr, p_bgr),
        Case {
            name: "raw bgr".into(),
            run: Box::new(|| {
                r_bgr
                    .packed(p_bgr, turbojpeg::PixelFormat::BGR)
                    .expect(CHECKED);
            }),
        },
        ours_case("i420", o_i420, p_i420),
        Case {
            name: "raw i420".into(),
            run: Box::new(|| {
                r_i420.planes(p_i420).expect(CHECKED);
            }),
        },
        ours_case("nv12", o_nv12, p_nv12),
    ];
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    eprintln!("encode {w}x{h}: cases {}", names.join(", "));
    let s = interleaved(&mut cases, per_case);
    drop(cases);
    let row = |format, ours: usize, raw: usize, raw_label, bytes| EncodeRow {
        width: w,
        height: h,
        format,
        ours: s[ours],
        raw: s[raw],
        raw_label,
        jpeg_bytes: bytes,
        tjbench: None,
    };
    Ok(vec![
        row(PixelFormat::Rgb888, 0, 1, "compress (RGB)", jpeg_bytes[0]),
        row(PixelFormat::Bgr888, 2, 3, "compress (BGR)", jpeg_bytes[1]),
        row(
            PixelFormat::Yuv420,
            4,
            5,
            "compress_yuv_planes",
            jpeg_bytes[2],
        ),
        row(
            PixelFormat::Nv12,
            6,
            5,
            "compress_yuv_planes (I420)",
            jpeg_bytes[3],
        ),
    ])
}

const CHECKED: &str = "encoded once before timing";

fn ours_case<'a>(name: &str, enc: &'a mut Encoder, pic: &'a Picture) -> Case<'a> {
    Case {
        name: format!("ours {name}"),
        run: Box::new(move || drop(enc.encode(&pic.raw()).expect(CHECKED))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("size {0}x{1}: the benchmark needs even widths and heights")]
    OddSize(usize, usize),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("libjpeg-turbo: {0}")]
    Turbo(#[from] turbojpeg::Error),
}

/// libjpeg-turbo called directly: the least any wrapper can do per frame.
struct Raw {
    compressor: Compressor,
    /// Preallocated worst-case output.
    out: Vec<u8>,
}

impl Raw {
    fn new(w: usize, h: usize) -> Result<Self, turbojpeg::Error> {
        let mut compressor = Compressor::new()?;
        compressor.set_quality(QUALITY as i32)?;
        compressor.set_subsamp(Subsamp::Sub2x2)?;
        let out = vec![0; turbojpeg::compressed_buf_len(w, h, Subsamp::Sub2x2)?];
        Ok(Self { compressor, out })
    }

    fn packed(
        &mut self,
        pic: &Picture,
        format: turbojpeg::PixelFormat,
    ) -> Result<usize, turbojpeg::Error> {
        let image = Image {
            pixels: &pic.planes[0].0[..],
            width: pic.width,
            pitch: pic.planes[0].1,
            height: pic.height,
            format,
        };
        let mut buf = OutputBuf::borrowed(&mut self.out);
        self.compressor.compress(image, &mut buf)?;
        Ok(buf.len())
    }

    fn planes(&mut self, pic: &Picture) -> Result<usize, turbojpeg::Error> {
        let [(y, ys), (u, us), (v, vs)] = &pic.planes[..] else {
            unreachable!("I420 has three planes")
        };
        let image = YuvPlanesImage {
            y_plane: &y[..],
            u_plane: &u[..],
            v_plane: &v[..],
            width: pic.width,
            height: pic.height,
            y_stride: *ys,
            u_stride: *us,
            v_stride: *vs,
            subsamp: Subsamp::Sub2x2,
        };
        let mut buf = OutputBuf::borrowed(&mut self.out);
        self.compressor.compress_yuv_planes(&image, &mut buf)?;
        Ok(buf.len())
    }
}

/// The Markdown table and the verdict on [`RATIO_TARGET`].
pub fn render(report: &EncodeReport) -> String {
    let mut md = format!(
        "Each case timed for at least {:?}, interleaved with the others.\n\n",
        report.per_case
    );
    md.push_str("| size | input | ours mean / p50 / p99 (ms) | raw libjpeg-turbo mean / p50 / p99 (ms) | raw call | ours/raw p50 | ours/raw mean | tjbench (ms) | ours fps | JPEG KiB |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in &report.rows {
        let tj = r.tjbench.map(ms).unwrap_or_else(|| "–".into());
        let _ = writeln!(
            md,
            "| {}×{} | {} | {} / {} / {} | {} / {} / {} | {} | {:.3}× | {:.3}× | {} | {:.0} | {:.1} |",
            r.width,
            r.height,
            r.format.name(),
            ms(r.ours.mean),
            ms(r.ours.p50),
            ms(r.ours.p99),
            ms(r.raw.mean),
            ms(r.raw.p50),
            ms(r.raw.p99),
            r.raw_label,
            r.ratio_p50(),
            r.ratio_mean(),
            tj,
            1.0 / r.ours.mean.as_secs_f64(),
            r.jpeg_bytes as f64 / 1024.0,
        );
    }
    let met: Vec<&EncodeRow> = report
        .rows
        .iter()
        .filter(|r| r.ratio_p50() <= RATIO_TARGET)
        .collect();
    let worst = report
        .rows
        .iter()
        .max_by(|a, b| a.ratio_p50().total_cmp(&b.ratio_p50()));
    let _ = writeln!(
        md,
        "\nTarget ours/raw ≤ {RATIO_TARGET:.2}× (p50): met in {} of {} rows{}.",
        met.len(),
        report.rows.len(),
        worst
            .map(|w| format!(
                "; worst {:.3}× ({}×{} {})",
                w.ratio_p50(),
                w.width,
                w.height,
                w.format.name()
            ))
            .unwrap_or_default()
    );
    if let Some(err) = &report.tjbench_error {
        let _ = writeln!(md, "\ntjbench did not run: {err}");
    }
    md
}

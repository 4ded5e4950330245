//! Unit tests of `tjbench`.

use super::*;

#[test]
fn parses_both_layouts() {
    let plain = "All performance values in Mpixels/sec\n\nPixel      JPEG     JPEG  Image  Image   Comp    Comp    Decomp  \nFormat     Subsamp  Qual  Width  Height  Perf    Ratio   Perf    \n\nRGB  (TD)  4:2:0    80    64     48      207.6   3.426   N/A\n";
    assert_eq!(parse_comp_perf(plain, false), Some(207.6));
    let yuv = "RGB  (TD)  4:2:0    80    64     48      821.6   207.3   3.426   N/A\n";
    assert_eq!(parse_comp_perf(yuv, true), Some(207.3));
    assert_eq!(parse_comp_perf("USAGE: tjbench", false), None);
}

#[test]
fn runs_the_installed_tjbench() {
    let dir = std::env::temp_dir().join(format!("tjbench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ppm = dir.join("in.ppm");
    crate::picture::write_ppm(&ppm, 64, 48).unwrap();
    let r = run(&ppm, 80, 64 * 48, 0.05).expect("tjbench is installed on this machine");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(r.from_rgb > Duration::ZERO && r.from_rgb < Duration::from_millis(100));
    assert!(r.from_yuv > Duration::ZERO && r.from_yuv < Duration::from_millis(100));
}

//! Unit tests of the directory watch on a real directory.

use super::*;
use std::io::Write;

fn events(w: &mut DirWatch) -> Vec<WatchEvent> {
    let mut out = Vec::new();
    if w.wait(Duration::from_secs(2)).unwrap() {
        w.drain(|e| out.push(e)).unwrap();
    }
    out
}

#[test]
fn reports_closed_and_renamed_files_but_not_open_ones() {
    let dir = std::env::temp_dir().join(format!("inotify-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut w = DirWatch::new(&dir).unwrap();
    assert!(!w.wait(Duration::from_millis(20)).unwrap());

    let mut f = std::fs::File::create(dir.join("a.jpg")).unwrap();
    f.write_all(b"half").unwrap();
    assert!(
        !w.wait(Duration::from_millis(50)).unwrap(),
        "nothing while the file is still open"
    );
    drop(f);
    assert_eq!(events(&mut w), vec![WatchEvent::Complete("a.jpg".into())]);

    std::fs::write(dir.join(".tmp"), b"x").unwrap();
    std::fs::rename(dir.join(".tmp"), dir.join("b.jpg")).unwrap();
    let got = events(&mut w);
    assert_eq!(
        got,
        vec![
            WatchEvent::Complete(".tmp".into()),
            WatchEvent::Complete("b.jpg".into())
        ]
    );

    std::fs::remove_dir_all(&dir).unwrap();
    assert!(events(&mut w).contains(&WatchEvent::DirGone));
}

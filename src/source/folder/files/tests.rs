//! Unit tests of `files`.

use super::*;
use std::time::Duration;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("folder-files-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn touch(path: &Path, age: Duration) {
    std::fs::write(path, b"x").unwrap();
    let f = File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn extensions_are_case_insensitive_and_need_a_name() {
    let names = FrameNames::new(&["jpg".into(), ".JPEG".into()]);
    for ok in ["a.jpg", "B.JPG", "x.y.JpEg"] {
        assert!(names.matches(OsStr::new(ok)), "{ok}");
    }
    for no in ["a.png", "jpg", ".jpg", "a.jpg.tmp", "ajpg"] {
        assert!(!names.matches(OsStr::new(no)), "{no}");
    }
}

#[test]
fn a_cleanup_pass_stops_when_interrupted_and_resumes() {
    let dir = temp_dir("interrupt");
    let names = FrameNames::new(&["jpg".into()]);
    for i in 0..5 {
        touch(&dir.join(format!("{i}.jpg")), Duration::from_secs(300));
    }
    let cutoff = SystemTime::now() - Duration::from_secs(60);
    let first = delete_older_than(&dir, &names, cutoff, None, || true).unwrap();
    assert_eq!((first.deleted, first.done), (1, false));
    let rest = delete_older_than(&dir, &names, cutoff, None, || false).unwrap();
    assert_eq!((rest.deleted, rest.done), (4, true));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reading_respects_the_cap_and_reports_vanished_files() {
    let dir = temp_dir("read");
    let path = dir.join("a.jpg");
    std::fs::write(&path, vec![7u8; 100]).unwrap();
    assert_eq!(read_frame(&path, 100).unwrap().data.len(), 100);
    assert!(matches!(
        read_frame(&path, 99),
        Err(ReadError::TooLarge { len: 100, .. })
    ));
    assert!(matches!(
        read_frame(&dir.join("gone.jpg"), 100),
        Err(ReadError::Vanished)
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn newest_first_and_cleanup_spares_the_kept_file_and_other_names() {
    let dir = temp_dir("scan");
    let names = FrameNames::new(&["jpg".into()]);
    touch(&dir.join("old.jpg"), Duration::from_secs(300));
    touch(&dir.join("on-air.jpg"), Duration::from_secs(200));
    touch(&dir.join("new.jpg"), Duration::from_secs(1));
    touch(&dir.join("notes.txt"), Duration::from_secs(300));
    std::fs::create_dir(dir.join("sub.jpg")).unwrap();
    let newest = newest_frames(&dir, &names, 2).unwrap();
    assert_eq!(newest, vec![dir.join("new.jpg"), dir.join("on-air.jpg")]);

    let cutoff = SystemTime::now() - Duration::from_secs(60);
    let keep = Some(OsStr::new("on-air.jpg"));
    let pass = delete_older_than(&dir, &names, cutoff, keep, || false).unwrap();
    assert_eq!(
        pass,
        CleanupPass {
            deleted: 1,
            done: true
        }
    );
    assert!(!dir.join("old.jpg").exists());
    for kept in ["on-air.jpg", "new.jpg", "notes.txt", "sub.jpg"] {
        assert!(dir.join(kept).exists(), "{kept}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

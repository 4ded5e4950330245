//! Minimal MJPEG server: `cross-probe --source test --listen ADDR`.
//! Encodes a moving test pattern with libjpeg-turbo, serves `/snapshot.jpg`
//! and `/stream.mjpg` (multipart/x-mixed-replace), and opens libcamera's
//! CameraManager at start to prove libcamera links and loads on the target.
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

const W: usize = 320;
const H: usize = 240;

fn frame(n: usize) -> Vec<u8> {
    let mut rgb = vec![0u8; W * H * 3];
    for y in 0..H {
        for x in 0..W {
            let p = (y * W + x) * 3;
            rgb[p] = ((x + n * 4) % 256) as u8;
            rgb[p + 1] = ((y + n * 2) % 256) as u8;
            rgb[p + 2] = (((x / 40 + y / 40 + n) % 2) * 255) as u8;
        }
    }
    let image = turbojpeg::Image { pixels: &rgb[..], width: W, pitch: W * 3, height: H, format: turbojpeg::PixelFormat::RGB };
    turbojpeg::compress(image, 80, turbojpeg::Subsamp::Sub2x2).expect("jpeg encode").to_vec()
}

fn serve(mut s: TcpStream) -> std::io::Result<()> {
    let mut line = String::new();
    BufReader::new(s.try_clone()?).read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    match path.as_str() {
        "/snapshot.jpg" => {
            let jpg = frame(0);
            write!(s, "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", jpg.len())?;
            s.write_all(&jpg)
        }
        "/stream.mjpg" => {
            write!(s, "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\nConnection: close\r\n\r\n")?;
            for n in 0.. {
                let jpg = frame(n);
                write!(s, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpg.len())?;
                s.write_all(&jpg)?;
                s.write_all(b"\r\n")?;
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(())
        }
        _ => write!(s, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    assert_eq!(opt("--source").as_deref(), Some("test"), "usage: cross-probe --source test --listen ADDR");
    let listen = opt("--listen").unwrap_or_else(|| "127.0.0.1:8080".into());

    match libcamera::camera_manager::CameraManager::new() {
        Ok(mgr) => eprintln!("libcamera {}: {} camera(s)", mgr.version(), mgr.cameras().len()),
        Err(e) => eprintln!("libcamera CameraManager failed: {e}"),
    }
    let listener = TcpListener::bind(&listen).expect("bind");
    eprintln!("listening on {listen}");
    for s in listener.incoming().flatten() {
        std::thread::spawn(move || serve(s));
    }
}

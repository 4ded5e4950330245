//! List libcamera cameras and capture a few frames from the first one.
//! Usage: libcamera-probe [FRAMES] [WIDTHxHEIGHT]
//! Prints one "camera: ID" line per camera, the formats the first camera
//! reports, then one line per captured frame; exits non-zero on failure.
use std::time::Duration;

use libcamera::{
    camera::CameraConfigurationStatus,
    camera_manager::CameraManager,
    controls,
    framebuffer::AsFrameBuffer,
    framebuffer_allocator::{FrameBuffer, FrameBufferAllocator},
    framebuffer_map::MemoryMappedFrameBuffer,
    geometry::Size,
    properties,
    request::ReuseFlag,
    stream::StreamRole,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let frames: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let size = args.next().map(|s| {
        let (w, h) = s.split_once('x').expect("size is WIDTHxHEIGHT");
        Size { width: w.parse().unwrap(), height: h.parse().unwrap() }
    });

    let mgr = CameraManager::new()?;
    println!("libcamera version: {}", mgr.version());
    let cameras = mgr.cameras();
    for cam in cameras.iter() {
        let model = cam.properties().get::<properties::Model>().map(|m| m.to_string()).unwrap_or_default();
        println!("camera: {} (model {model:?})", cam.id());
    }
    let cam = cameras.get(0).ok_or("no camera found")?;
    if frames == 0 {
        return Ok(());
    }

    let mut cam = cam.acquire()?;
    let mut cfgs = cam
        .generate_configuration(&[StreamRole::VideoRecording])
        .ok_or("generate_configuration failed")?;
    {
        let cfg = cfgs.get(0).ok_or("no stream configuration")?;
        let formats = cfg.formats();
        for pf in formats.pixel_formats().into_iter() {
            println!("format: {pf:?} sizes {:?}", formats.range(pf));
        }
    }
    if let Some(size) = size {
        cfgs.get_mut(0).unwrap().set_size(size);
    }
    match cfgs.validate() {
        CameraConfigurationStatus::Invalid => return Err("invalid camera configuration".into()),
        status => println!("configuration: {:?} ({status:?})", cfgs.get(0).unwrap().to_string_repr()),
    }
    cam.configure(&mut cfgs)?;

    let cfg = cfgs.get(0).unwrap();
    let stream = cfg.stream().ok_or("no stream")?;
    let mut alloc = FrameBufferAllocator::new(&cam);
    let buffers = alloc.alloc(&stream)?;
    println!("buffers: {}", buffers.len());
    let mut reqs = Vec::new();
    for (i, buf) in buffers.into_iter().enumerate() {
        let buf = MemoryMappedFrameBuffer::new(buf)?;
        let mut req = cam.create_request(Some(i as u64)).ok_or("create_request failed")?;
        req.add_buffer(&stream, buf)?;
        reqs.push(req);
    }

    let (tx, rx) = std::sync::mpsc::channel();
    cam.on_request_completed(move |req| {
        let _ = tx.send(req);
    });
    cam.start(None)?;
    for req in reqs {
        cam.queue_request(req).map_err(|(_, e)| e)?;
    }
    for n in 0..frames {
        let mut req = rx.recv_timeout(Duration::from_secs(5))?;
        let fb: &MemoryMappedFrameBuffer<FrameBuffer> = req.buffer(&stream).ok_or("no buffer")?;
        let planes = fb.data();
        let lens: Vec<usize> = planes.iter().map(|p| p.len()).collect();
        let nonzero = planes.iter().map(|p| p.iter().filter(|&&b| b != 0).count()).sum::<usize>();
        let md = fb.metadata();
        let ts = req.metadata().get::<controls::SensorTimestamp>().map(|t| *t).ok();
        println!(
            "frame {n}: planes {lens:?} nonzero_bytes {nonzero} buffer_md(seq {:?}, ts {:?}, bytesused {:?}) request_md SensorTimestamp {ts:?}",
            md.as_ref().map(|m| m.sequence()),
            md.as_ref().map(|m| m.timestamp()),
            md.as_ref().map(|m| m.planes().into_iter().map(|p| p.bytes_used).collect::<Vec<_>>()),
        );
        if nonzero == 0 {
            return Err("frame is all zeroes".into());
        }
        req.reuse(ReuseFlag::REUSE_BUFFERS);
        cam.queue_request(req).map_err(|(_, e)| e)?;
    }
    cam.stop()?;
    println!("captured {frames} frames");
    Ok(())
}

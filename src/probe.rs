//! MJPEG probe client (being written).
#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    pub url: String,
}
pub async fn run(_args: ProbeArgs) -> anyhow::Result<bool> {
    Ok(true)
}

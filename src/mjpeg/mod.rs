//! MJPEG on the wire, both directions: the format our server writes ([`format`]), the tolerant,
//! bounded `multipart/x-mixed-replace` parser ([`parser`]) and the MJPEG client connection
//! ([`client`]) that the `relay` source and the `probe` command read other streams with.

pub mod client;
pub mod format;
pub mod parser;

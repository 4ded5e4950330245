//! Whether a peer may use an entry: its `allow` list of address ranges
//! ([`crate::config::addr::AddrRange`], parsed with the config).

use std::net::IpAddr;

pub use crate::config::addr::AddrRange;

/// Whether `peer` is in any of `ranges`; `None` (no `allow` key) means every address.
pub fn allowed(ranges: Option<&[AddrRange]>, peer: IpAddr) -> bool {
    ranges.is_none_or(|r| r.iter().any(|range| range.contains(peer)))
}

#[cfg(test)]
mod tests;

//! Source-address ranges of the `allow` lists: `"192.168.1.0/24"`, `"10.0.0.7"`, `"::1"`,
//! `"fd00::/8"`.
//!
//! A peer that reaches a dual-stack (`[::]`) socket over IPv4 shows up as an IPv4-mapped IPv6
//! address (`::ffff:192.168.1.5`); peers are canonicalised to IPv4 before matching, so one
//! IPv4 range covers both listeners. For the same reason a mapped address in the config is
//! refused: it could never match.

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

/// One allowed network: an address and a prefix length (`/32` or `/128` for a single host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    network: IpAddr,
    prefix: u8,
}

impl AddrRange {
    /// Parses `addr` or `addr/prefix`; host bits must be zero (`192.168.1.5/24` is refused with a
    /// hint, since it usually means the author meant something else).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| {
            format!(
                "{text:?} is not an IP address or CIDR range (e.g. \"192.168.1.0/24\", \"::1\")"
            )
        })?;
        if let IpAddr::V6(v6) = network {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return Err(format!("write the IPv4 address {v4} as IPv4, not as {v6}"));
            }
        }
        let max = max_prefix(network);
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{text:?}: the prefix length must be 0..={max}")),
            },
        };
        let range = AddrRange { network, prefix };
        let masked = range.mask(network);
        if masked != network {
            return Err(format!(
                "{text:?} has host bits set; the network is {masked}/{prefix}"
            ));
        }
        Ok(range)
    }

    /// Whether `peer` (canonicalised: IPv4-mapped IPv6 counts as IPv4) is inside the range.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        peer.is_ipv4() == self.network.is_ipv4() && self.mask(peer) == self.network
    }

    fn mask(&self, addr: IpAddr) -> IpAddr {
        match addr {
            IpAddr::V4(a) => {
                let bits = u32::from(a)
                    & u32::MAX
                        .checked_shl(32 - u32::from(self.prefix))
                        .unwrap_or(0);
                IpAddr::V4(bits.into())
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a)
                    & u128::MAX
                        .checked_shl(128 - u32::from(self.prefix))
                        .unwrap_or(0);
                IpAddr::V6(bits.into())
            }
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl<'de> Deserialize<'de> for AddrRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        AddrRange::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;

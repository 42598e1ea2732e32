//! Which hosts a webhook may be sent to. A rule's `webhook_url` is chosen by whoever can reach
//! the query API, so without a bound the pipeline would POST to any host it can reach on their
//! behalf. Targets are loopback by default; `serve --webhook-allow CIDR` widens the set.
//!
//! Only IP literals (and `localhost`, which is loopback) are accepted: a host name could
//! resolve to a different address at delivery time than when the rule was checked.

use std::net::IpAddr;
use std::str::FromStr;

/// An address block, as `10.0.0.0/8` or `::1/128` (a bare address is a single host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies within the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, b, bits) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u128::from(a.to_bits()), u128::from(b.to_bits()), 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
            (IpAddr::V6(a), IpAddr::V4(b)) => (a.to_bits(), b.to_ipv6_mapped().to_bits(), 128),
            (IpAddr::V4(_), IpAddr::V6(b)) => match b.to_ipv4_mapped() {
                Some(b) => return self.contains(IpAddr::V4(b)),
                None => return false,
            },
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (a ^ b) >> shift == 0
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected an address block such as 10.0.0.0/8 or fd00::/8, got {s:?}");
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The blocks webhooks may be sent to: loopback, plus what `--webhook-allow` adds.
pub fn loopback() -> [Cidr; 2] {
    ["127.0.0.0/8", "::1/128"].map(|s| s.parse().expect("valid loopback blocks"))
}

/// Checks a webhook URL against the allowed blocks (loopback is always allowed); the message
/// names the flag that would allow it.
pub fn check(url: &str, allowed: &[Cidr]) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("webhook_url: not a URL: {url:?}"))?;
    let host = uri.host().unwrap_or_default();
    let ip = if host.eq_ignore_ascii_case("localhost") {
        Some(IpAddr::from([127, 0, 0, 1]))
    } else {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok()
    };
    let within = |ip: IpAddr| loopback().iter().chain(allowed).any(|c| c.contains(ip));
    match ip {
        Some(ip) if within(ip) => Ok(()),
        Some(ip) => Err(format!(
            "webhook_url: {ip} is not a loopback address; start serve with --webhook-allow {ip}/32 (or a block containing it) to allow it"
        )),
        None => Err(format!(
            "webhook_url: host {host:?} is not an IP address; webhooks go to loopback or to addresses allowed with --webhook-allow CIDR"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_by_default() {
        assert!(check("http://127.0.0.1:9/x", &[]).is_ok());
        assert!(check("http://localhost:9/x", &[]).is_ok());
        assert!(check("http://[::1]:9/x", &[]).is_ok());
        let err = check("http://10.1.2.3:9/x", &[]).unwrap_err();
        assert!(err.contains("--webhook-allow"), "{err}");
        assert!(check("http://example.com/x", &[]).is_err());
        assert!(check("http://169.254.169.254/latest", &[]).is_err());
    }

    #[test]
    fn blocks_widen_the_set() {
        let allowed: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        assert!(check("http://10.1.2.3:9/x", &allowed).is_ok());
        assert!(check("http://[fd12::1]:9/x", &allowed).is_ok());
        assert!(check("http://11.0.0.1:9/x", &allowed).is_err());
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .unwrap()
                .contains([8, 8, 8, 8].into())
        );
        for bad in ["10.0.0.0/33", "x/8", "10.0.0.0/", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }
}

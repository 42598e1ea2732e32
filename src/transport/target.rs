//! Parsing a `--target URL` into where spans go. `grpcs://` and `https://` (or `--tls`, see
//! [`Target::with_tls`]) make the connection TLS: the scheme of the stored URI says which.

use std::fmt;
use std::str::FromStr;

use ::http::Uri;

use crate::error::UsageError;

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Encode and count, send nowhere (`--sink discard`): measures the generator alone.
    Discard,
    /// OTLP/gRPC, `grpc://host:port` (`grpcs://` for TLS); requests go to `http://host:port`
    /// (`https://`) over HTTP/2.
    Grpc {
        /// `http://host:port` or `https://host:port`, the endpoint tonic connects to.
        endpoint: Uri,
    },
    /// OTLP/HTTP, `http://host:port/v1/traces` (`https://` for TLS).
    Http {
        /// The full URL requests are POSTed to.
        url: Uri,
    },
}

impl Target {
    /// True for targets that go over the network (they have an export latency).
    pub fn is_network(&self) -> bool {
        !matches!(self, Target::Discard)
    }

    /// True when the connection is TLS.
    pub fn is_tls(&self) -> bool {
        match self {
            Target::Discard => false,
            Target::Grpc { endpoint: uri } | Target::Http { url: uri } => {
                uri.scheme_str() == Some("https")
            }
        }
    }

    /// The same target over TLS (`--tls` with a `grpc://` or `http://` URL).
    pub fn with_tls(self) -> Target {
        let upgrade = |uri: &Uri| -> Uri {
            let mut parts = uri.clone().into_parts();
            parts.scheme = Some(::http::uri::Scheme::HTTPS);
            Uri::from_parts(parts).expect("same URI, another scheme")
        };
        match self {
            Target::Discard => Target::Discard,
            Target::Grpc { endpoint } => Target::Grpc {
                endpoint: upgrade(&endpoint),
            },
            Target::Http { url } => Target::Http { url: upgrade(&url) },
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Discard => f.write_str("discard"),
            Target::Grpc { endpoint } => {
                let auth = endpoint.authority().map(|a| a.as_str()).unwrap_or("");
                let scheme = if self.is_tls() { "grpcs" } else { "grpc" };
                write!(f, "{scheme}://{auth}")
            }
            Target::Http { url } => write!(f, "{url}"),
        }
    }
}

impl FromStr for Target {
    type Err = UsageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            UsageError::new(format!(
                "--target {s:?}: {why}; expected grpc[s]://HOST:PORT or http[s]://HOST:PORT/v1/traces"
            ))
        };
        if s == "discard" {
            return Ok(Target::Discard);
        }
        let uri: Uri = s.parse().map_err(|_| bad("not a URL"))?;
        let authority = uri.authority().ok_or_else(|| bad("no host:port"))?;
        if authority.port_u16().is_none() {
            return Err(bad("no port"));
        }
        if authority.host().is_empty() {
            return Err(bad("no host"));
        }
        let (grpc, scheme) = match uri.scheme_str() {
            Some("grpc") => (true, "http"),
            Some("grpcs") => (true, "https"),
            Some("http") => (false, "http"),
            Some("https") => (false, "https"),
            _ => return Err(bad("unknown scheme")),
        };
        if grpc {
            if !matches!(uri.path(), "" | "/") {
                return Err(bad("a gRPC target takes no path"));
            }
            let endpoint = format!("{scheme}://{authority}")
                .parse()
                .map_err(|_| bad("bad host"))?;
            return Ok(Target::Grpc { endpoint });
        }
        let url = if matches!(uri.path(), "" | "/") {
            format!("{scheme}://{authority}/v1/traces")
                .parse()
                .map_err(|_| bad("bad host"))?
        } else {
            uri
        };
        Ok(Target::Http { url })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_accepted_forms() {
        assert_eq!("discard".parse::<Target>().unwrap(), Target::Discard);
        let g: Target = "grpc://127.0.0.1:4317".parse().unwrap();
        assert_eq!(g.to_string(), "grpc://127.0.0.1:4317");
        let h: Target = "http://localhost:4318".parse().unwrap();
        assert_eq!(h.to_string(), "http://localhost:4318/v1/traces");
        let h: Target = "http://localhost:4318/custom/traces".parse().unwrap();
        assert_eq!(h.to_string(), "http://localhost:4318/custom/traces");
        let g: Target = "grpcs://collector.example:443".parse().unwrap();
        assert!(g.is_tls());
        assert_eq!(g.to_string(), "grpcs://collector.example:443");
        let h: Target = "https://otlp.example:443".parse().unwrap();
        assert!(h.is_tls());
        assert_eq!(h.to_string(), "https://otlp.example:443/v1/traces");
        let forced = "grpc://127.0.0.1:4317"
            .parse::<Target>()
            .unwrap()
            .with_tls();
        assert_eq!(forced.to_string(), "grpcs://127.0.0.1:4317");
        assert!(!"http://h:1".parse::<Target>().unwrap().is_tls());
    }

    #[test]
    fn malformed_urls_name_the_flag() {
        for bad in [
            "",
            "grpc://",
            "grpc://host",
            "ftp://h:1",
            "not a url",
            "grpc://h:1/x",
            "grpcs://h:1/x",
        ] {
            let err = bad.parse::<Target>().unwrap_err().to_string();
            assert!(err.starts_with("--target"), "{bad}: {err}");
        }
    }
}

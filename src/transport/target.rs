//! Parsing a `--target URL` into where spans go.

use std::fmt;
use std::str::FromStr;

use ::http::Uri;

use crate::error::UsageError;

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Encode and count, send nowhere (`--sink discard`): measures the generator alone.
    Discard,
    /// OTLP/gRPC, `grpc://host:port`; requests go to `http://host:port` over HTTP/2.
    Grpc {
        /// `http://host:port`, the endpoint tonic connects to.
        endpoint: Uri,
    },
    /// OTLP/HTTP, `http://host:port/v1/traces`.
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
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Discard => f.write_str("discard"),
            Target::Grpc { endpoint } => {
                let auth = endpoint.authority().map(|a| a.as_str()).unwrap_or("");
                write!(f, "grpc://{auth}")
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
                "--target {s:?}: {why}; expected grpc://HOST:PORT or http://HOST:PORT/v1/traces"
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
        match uri.scheme_str() {
            Some("grpc") => {
                if !matches!(uri.path(), "" | "/") {
                    return Err(bad("a gRPC target takes no path"));
                }
                let endpoint = format!("http://{authority}")
                    .parse()
                    .map_err(|_| bad("bad host"))?;
                Ok(Target::Grpc { endpoint })
            }
            Some("http") => {
                let url = if matches!(uri.path(), "" | "/") {
                    format!("http://{authority}/v1/traces")
                        .parse()
                        .map_err(|_| bad("bad host"))?
                } else {
                    uri
                };
                Ok(Target::Http { url })
            }
            Some("https") => Err(bad("TLS is not supported yet")),
            _ => Err(bad("unknown scheme")),
        }
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
            "https://h:1",
        ] {
            let err = bad.parse::<Target>().unwrap_err().to_string();
            assert!(err.starts_with("--target"), "{bad}: {err}");
        }
    }
}

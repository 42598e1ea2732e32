//! The OpenTelemetry exporter environment variables (`OTEL_EXPORTER_OTLP_*`), read the way the
//! SDKs and telemetrygen read them, so a pipeline's existing client settings point the tool at
//! it unchanged.
//!
//! Precedence, per setting: a flag, then the traces-specific variable
//! (`OTEL_EXPORTER_OTLP_TRACES_*`), then the generic one (`OTEL_EXPORTER_OTLP_*`), then the
//! profile or the default. The generic endpoint is a base URL: OTLP/HTTP appends `/v1/traces`;
//! the traces-specific endpoint is used as it is. The table in docs/targets.md lists every variable.

use std::path::PathBuf;
use std::time::Duration;

use http::Uri;

use super::profile::LoadSection;
use crate::encode::Encoding;
use crate::error::UsageError;
use crate::transport::{Target, TlsOptions};

/// What the variables set; `None` where neither the traces-specific nor the generic one is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OtlpEnv {
    /// Where spans go, from `_ENDPOINT` and `_PROTOCOL`.
    pub target: Option<Target>,
    /// `http/json` asks for JSON bodies; `grpc` and `http/protobuf` for protobuf.
    pub encoding: Option<Encoding>,
    /// `_HEADERS`: names and percent-decoded values.
    pub headers: Vec<(String, String)>,
    /// `_COMPRESSION`: `gzip` (true) or `none` (false).
    pub gzip: Option<bool>,
    /// `_TIMEOUT`, in milliseconds.
    pub timeout: Option<Duration>,
    /// `_CERTIFICATE`: the CA to trust.
    pub certificate: Option<PathBuf>,
    /// `_CLIENT_CERTIFICATE`.
    pub client_certificate: Option<PathBuf>,
    /// `_CLIENT_KEY`.
    pub client_key: Option<PathBuf>,
}

/// The protocols the specification names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

impl OtlpEnv {
    /// Reads the process environment.
    pub fn from_process() -> Result<OtlpEnv, UsageError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `get` (the process environment, or a test's map). An empty
    /// variable counts as unset, as in the SDKs.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<OtlpEnv, UsageError> {
        let var = |suffix: &str| -> Option<(String, String)> {
            ["OTEL_EXPORTER_OTLP_TRACES_", "OTEL_EXPORTER_OTLP_"]
                .iter()
                .map(|prefix| format!("{prefix}{suffix}"))
                .find_map(|name| {
                    get(&name)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (name, v))
                })
        };
        let protocol = match var("PROTOCOL") {
            Some((name, value)) => Some(protocol(&name, value.trim())?),
            None => None,
        };
        let target = match var("ENDPOINT") {
            Some((name, value)) => Some(endpoint(&name, value.trim(), protocol)?),
            None => None,
        };
        Ok(OtlpEnv {
            target,
            encoding: protocol.map(|p| match p {
                Protocol::HttpJson => Encoding::Json,
                Protocol::Grpc | Protocol::HttpProtobuf => Encoding::Protobuf,
            }),
            headers: match var("HEADERS") {
                Some((name, value)) => headers(&name, &value)?,
                None => Vec::new(),
            },
            gzip: match var("COMPRESSION") {
                Some((name, value)) => Some(compression(&name, value.trim())?),
                None => None,
            },
            timeout: match var("TIMEOUT") {
                Some((name, value)) => Some(timeout(&name, value.trim())?),
                None => None,
            },
            certificate: var("CERTIFICATE").map(|(_, v)| PathBuf::from(v)),
            client_certificate: var("CLIENT_CERTIFICATE").map(|(_, v)| PathBuf::from(v)),
            client_key: var("CLIENT_KEY").map(|(_, v)| PathBuf::from(v)),
        })
    }
}

impl OtlpEnv {
    /// Writes what the variables set into a `[load]` section; flags, applied after, win.
    pub fn apply_to(&self, section: &mut LoadSection) {
        if let Some(encoding) = self.encoding {
            section.encoding = encoding;
        }
        if let Some(gzip) = self.gzip {
            section.gzip = gzip;
            section.compression = Some(if gzip {
                crate::transport::Codec::Gzip
            } else {
                crate::transport::Codec::None
            });
        }
        if let Some(timeout) = self.timeout {
            section.timeout = timeout;
        }
    }

    /// The TLS flags, each one missing taken from the variables.
    pub fn fill_tls(&self, flags: &TlsOptions) -> TlsOptions {
        let or = |flag: &Option<PathBuf>, var: &Option<PathBuf>| flag.clone().or(var.clone());
        TlsOptions {
            ca_file: or(&flags.ca_file, &self.certificate),
            client_cert: or(&flags.client_cert, &self.client_certificate),
            client_key: or(&flags.client_key, &self.client_key),
            ..flags.clone()
        }
    }

    /// The variables' headers with the flags' over them (a flag replaces a header of the same
    /// name, case-insensitively).
    pub fn merge_headers(&self, flags: &[(String, String)]) -> Vec<(String, String)> {
        let mut merged: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(k, _)| !flags.iter().any(|(f, _)| f.eq_ignore_ascii_case(k)))
            .cloned()
            .collect();
        merged.extend(flags.iter().cloned());
        merged
    }
}

fn protocol(name: &str, value: &str) -> Result<Protocol, UsageError> {
    match value {
        "grpc" => Ok(Protocol::Grpc),
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        "http/json" => Ok(Protocol::HttpJson),
        _ => Err(UsageError::new(format!(
            "{name}={value:?}: expected grpc, http/protobuf or http/json"
        ))),
    }
}

/// The target an endpoint variable names. The generic endpoint is a base URL (OTLP/HTTP
/// appends `/v1/traces`), the traces-specific one the whole URL; a URL without a port takes
/// the scheme's (80, 443). Without a protocol, the specification's default: `http/protobuf`.
fn endpoint(name: &str, value: &str, protocol: Option<Protocol>) -> Result<Target, UsageError> {
    let bad = |why: &str| UsageError::new(format!("{name}={value:?}: {why}"));
    let uri: Uri = value.parse().map_err(|_| bad("not a URL"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("expected an http:// or https:// URL")),
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host"))?;
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let scheme = if tls { "https" } else { "http" };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let base = format!("{scheme}://{host}:{port}");
    let parse = |url: String| url.parse::<Uri>().map_err(|_| bad("not a URL"));
    if protocol == Some(Protocol::Grpc) {
        return Ok(Target::Grpc {
            endpoint: parse(base)?,
        });
    }
    let path = uri.path_and_query().map_or("", |p| p.as_str());
    let url = if name.contains("_TRACES_") {
        format!("{base}{}", if path.is_empty() { "/" } else { path })
    } else {
        format!("{base}{}/v1/traces", path.trim_end_matches('/'))
    };
    Ok(Target::Http { url: parse(url)? })
}

/// `key1=value1,key2=value2`, each part percent-decoded and trimmed.
fn headers(name: &str, value: &str) -> Result<Vec<(String, String)>, UsageError> {
    value
        .split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                UsageError::new(format!("{name}: {:?} is not KEY=VALUE", redact(pair)))
            })?;
            let decode = |s: &str| {
                percent_decode(s.trim()).ok_or_else(|| {
                    UsageError::new(format!(
                        "{name}: bad percent-encoding in {:?}",
                        redact(pair)
                    ))
                })
            };
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// A header pair with its value hidden, for error messages.
fn redact(pair: &str) -> String {
    match pair.split_once('=') {
        Some((k, _)) => format!("{}=<redacted>", k.trim()),
        None => "<redacted>".into(),
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or text that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn compression(name: &str, value: &str) -> Result<bool, UsageError> {
    match value {
        "gzip" => Ok(true),
        "none" => Ok(false),
        _ => Err(UsageError::new(format!(
            "{name}={value:?}: expected gzip or none"
        ))),
    }
}

fn timeout(name: &str, value: &str) -> Result<Duration, UsageError> {
    match value.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(UsageError::new(format!(
            "{name}={value:?}: expected a positive number of milliseconds"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_takes_escapes_and_refuses_broken_ones() {
        assert_eq!(percent_decode("Bearer%20abc%3D").unwrap(), "Bearer abc=");
        assert_eq!(percent_decode("plain").unwrap(), "plain");
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
    }
}

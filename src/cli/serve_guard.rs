//! The flags of `serve` that bound who and what can use the pipeline: webhook targets, the API
//! token, and connection limits and timeouts. Kept apart from the other serve flags so that the
//! exposure of a server reads as one group in `--help`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::error::UsageError;
use crate::pipeline::PipelineConfig;
use crate::pipeline::alerts::allow::Cidr;
use crate::pipeline::tls::ServerTls;

/// Exposure and connection flags of `span-sentinel serve`.
#[derive(Debug, Args)]
pub struct GuardFlags {
    /// Address block alert webhooks may be sent to besides loopback, e.g. 10.0.0.0/8
    /// (repeatable); rules naming any other host are refused with 400.
    #[arg(long = "webhook-allow", value_name = "CIDR")]
    pub webhook_allow: Vec<String>,
    /// Bearer token the query and rule API (/api/v1/...) require; ingest and /metrics stay
    /// open. Without it, a listener on a non-loopback address prints a warning at start.
    #[arg(long, value_name = "TOKEN", env = "SPAN_SENTINEL_API_TOKEN")]
    pub api_token: Option<String>,
    /// Open connections per listener; further clients wait until one closes.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Time a client has to send a request's headers before its connection is closed.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,
    /// A connection idle (no bytes either way) this long is closed.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,
    /// Serve TLS on both listeners with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates chained to this PEM CA (mutual TLS; needs --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
}

impl GuardFlags {
    /// Writes the flags into `config`.
    pub fn apply(&self, config: &mut PipelineConfig) -> Result<(), UsageError> {
        config.webhook_allow = self
            .webhook_allow
            .iter()
            .map(|c| {
                c.parse::<Cidr>()
                    .map_err(|e| UsageError::new(format!("--webhook-allow: {e}")))
            })
            .collect::<Result<_, _>>()?;
        if self.api_token.as_deref() == Some("") {
            return Err(UsageError::new("--api-token: must not be empty"));
        }
        config.api_token = self.api_token.clone();
        if self.max_connections == 0 {
            return Err(UsageError::new("--max-connections: must be at least 1"));
        }
        let c = &mut config.connections;
        c.max_connections = self.max_connections;
        c.header_read_timeout = self.header_read_timeout;
        c.idle_timeout = self.idle_timeout;
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            let tls = ServerTls::from_pem(cert, key, self.client_ca.as_deref())
                .map_err(|e| UsageError::new(format!("--tls-cert/--tls-key/--client-ca: {e}")))?;
            config.tls = Some(tls);
        }
        Ok(())
    }
}

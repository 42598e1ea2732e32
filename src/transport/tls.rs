//! TLS on the client side: one rustls configuration, built once from the TLS flags, that every
//! connection the tool opens to a target shares — the load's and the sentinel's exporters, the
//! query client and the Prometheus client.
//!
//! The handshake belongs to the connection: exporters wrap their TCP connector with it, and the
//! template encoder never sees TLS. The system's trust store is used unless `--ca-file` names
//! the CA to trust instead (as the OpenTelemetry SDKs treat `OTEL_EXPORTER_OTLP_CERTIFICATE`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper_rustls::{FixedServerNameResolver, HttpsConnector};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The reports' warning when `--insecure-skip-verify` turned certificate checks off.
pub const INSECURE_WARNING: &str = "--insecure-skip-verify: the target's TLS certificate was \
    NOT verified; the connection is encrypted but anyone in the path could have answered";

/// The TLS flags as given, before any file is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `--ca-file`: PEM certificates to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// `--client-cert`: PEM certificate chain presented for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// `--client-key`: PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// `--tls-server-name`: the name the server's certificate must carry, instead of the
    /// target's host.
    pub server_name: Option<String>,
    /// `--insecure-skip-verify`: accept any server certificate (the report warns).
    pub insecure_skip_verify: bool,
    /// `--tls`: use TLS with a `grpc://` or `http://` target.
    pub force: bool,
}

/// Why the TLS flags could not be turned into a configuration; the message names the flag.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {path}: {reason}")]
pub struct TlsError {
    /// The flag whose value is wrong.
    pub flag: &'static str,
    /// The file or value.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A built client configuration; cheap to clone (an `Arc`).
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
    insecure: bool,
}

impl ClientTls {
    /// Reads the files `opts` names and builds the configuration.
    pub fn new(opts: &TlsOptions) -> Result<Self, TlsError> {
        let server_name = match &opts.server_name {
            Some(name) => Some(ServerName::try_from(name.clone()).map_err(|e| TlsError {
                flag: "--tls-server-name",
                path: name.clone(),
                reason: e.to_string(),
            })?),
            None => None,
        };
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions");
        let builder = if opts.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate))
        } else {
            builder.with_root_certificates(roots(opts.ca_file.as_deref())?)
        };
        let mut config: ClientConfig = match (&opts.client_cert, &opts.client_key) {
            (Some(cert), Some(key)) => {
                let (chain, key) = identity(cert, key)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError {
                        flag: "--client-key",
                        path: key_path(opts),
                        reason: e.to_string(),
                    })?
            }
            (None, None) => builder.with_no_client_auth(),
            (Some(c), None) => return Err(missing("--client-key", "--client-cert", c)),
            (None, Some(k)) => return Err(missing("--client-cert", "--client-key", k)),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            server_name,
            insecure: opts.insecure_skip_verify,
        })
    }

    /// The system roots, no client certificate: what a target gets without TLS flags. Built
    /// once per process.
    pub fn system() -> Self {
        static SYSTEM: OnceLock<ClientTls> = OnceLock::new();
        SYSTEM
            .get_or_init(|| Self::new(&TlsOptions::default()).expect("no file to read"))
            .clone()
    }

    /// True when server certificates are not verified (`--insecure-skip-verify`).
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// The rustls configuration, for a hand-made handshake (the HTTP probe).
    pub fn config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.config)
    }

    /// The name to verify instead of the host, if `--tls-server-name` gave one.
    pub fn server_name(&self) -> Option<&ServerName<'static>> {
        self.server_name.as_ref()
    }

    /// A hyper connector speaking TLS to `https://` URIs and plain TCP to `http://` ones. For
    /// gRPC (`http2`) it offers `h2` by ALPN; otherwise HTTP/1.1.
    pub fn connector(
        &self,
        connect_timeout: Duration,
        http2: bool,
    ) -> HttpsConnector<HttpConnector> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let mut config = (*self.config).clone();
        // The builder sets ALPN itself from the protocols enabled below.
        config.alpn_protocols.clear();
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http();
        let builder = match &self.server_name {
            Some(name) => {
                builder.with_server_name_resolver(FixedServerNameResolver::new(name.clone()))
            }
            None => builder,
        };
        if http2 {
            builder.enable_http2().wrap_connector(tcp)
        } else {
            builder.enable_http1().wrap_connector(tcp)
        }
    }
}

/// The crypto provider: ring, so no C toolchain beyond what ring needs and no OpenSSL.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The CA certificates of `ca_file`, or the system's when none is given.
fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    let Some(path) = ca_file else {
        // Certificates the system store cannot parse are skipped, as browsers do.
        let found = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(found.certs);
        return Ok(store);
    };
    let certs = read_certs("--ca-file", path)?;
    for cert in certs {
        store.add(cert).map_err(|e| TlsError {
            flag: "--ca-file",
            path: path.display().to_string(),
            reason: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(store)
}

/// Every certificate of a PEM file; none at all is an error.
fn read_certs(flag: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError {
        flag,
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// A certificate chain and its private key, from PEM files.
fn identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let chain = read_certs("--client-cert", cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError {
        flag: "--client-key",
        path: key.display().to_string(),
        reason: format!("no PEM private key: {e}"),
    })?;
    Ok((chain, key))
}

fn key_path(opts: &TlsOptions) -> String {
    opts.client_key
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn missing(needed: &'static str, given: &str, path: &Path) -> TlsError {
    TlsError {
        flag: needed,
        path: String::new(),
        reason: format!("is needed with {given} {}", path.display()),
    }
}

/// Reads a PEM certificate chain and key for a server (`serve --tls-cert/--tls-key`) or for
/// any other use that wants them in rustls' types.
pub fn read_identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    identity(cert, key)
}

/// `--insecure-skip-verify`: every server certificate is accepted; the handshake's signatures
/// are still checked, so the connection is encrypted, only not authenticated.
#[derive(Debug)]
struct AnyCertificate;

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A hint for errors whose chain shows the handshake failed on a certificate.
pub fn certificate_hint(reason: &str) -> Option<&'static str> {
    let lower = reason.to_ascii_lowercase();
    (lower.contains("certificate") || lower.contains("unknownissuer")).then_some(
        "TLS certificate problem: the server's certificate is not trusted for this name \
         (check --ca-file, --tls-server-name, or --client-cert/--client-key for mutual TLS)",
    )
}

//! TLS on the pipeline's listeners (`serve --tls-cert/--tls-key`, optional `--client-ca` for
//! mutual TLS). Kept apart from the accept loop in `server`: the loop accepts TCP as before and
//! hands each connection here for its handshake, inside the connection's own task, so a slow
//! handshake never stalls accepting.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A server TLS configuration both listeners share; cheap to clone.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    mutual: bool,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("mutual", &self.mutual)
            .finish_non_exhaustive()
    }
}

/// How long a client has for its TLS handshake before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl ServerTls {
    /// Reads the PEM certificate chain and key, and the CA that client certificates must chain
    /// to when `client_ca` is given (then a client without one is refused). The error names
    /// the file and what is wrong with it.
    pub fn from_pem(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Self, String> {
        let chain = certs(cert)?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("{}: no PEM private key: {e}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match client_ca {
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for ca in certs(path)? {
                    roots
                        .add(ca)
                        .map_err(|e| format!("{}: not a usable CA: {e}", path.display()))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            mutual: client_ca.is_some(),
        })
    }

    /// The handshake of one accepted connection; `None` when it fails or takes longer than
    /// [`HANDSHAKE_TIMEOUT`] (the client sees the alert or the close).
    pub async fn handshake(&self, stream: TcpStream) -> Option<TlsStream<TcpStream>> {
        let accept = self.acceptor.accept(stream);
        tokio::time::timeout(HANDSHAKE_TIMEOUT, accept)
            .await
            .ok()?
            .ok()
    }
}

/// Every certificate of a PEM file; none is an error.
fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |e: &dyn fmt::Display| format!("{}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    if certs.is_empty() {
        return Err(fail(&"holds no PEM certificate"));
    }
    Ok(certs)
}

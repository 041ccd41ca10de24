//! TLS for the vendor endpoints: the sim's certificate (signed by the dev CA), APNs with ALPN
//! `h2` only and an optional client certificate checked against the dev CA, FCM with ALPN
//! `h2` and `http/1.1`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The sim's server identity and the CA that client certificates must chain to.
#[derive(Debug)]
pub(crate) struct TlsMaterial {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: Arc<RootCertStore>,
}

/// Installs aws-lc-rs as the process's rustls provider (no-op when one is installed).
pub(crate) fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads the server certificate chain, its key and the client CA.
pub(crate) fn load(cert: &Path, key: &Path, client_ca: &Path) -> anyhow::Result<TlsMaterial> {
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in {}", cert.display());
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(client_ca)
        .with_context(|| format!("reading {}", client_ca.display()))?
    {
        roots
            .add(ca.with_context(|| format!("parsing {}", client_ca.display()))?)
            .context("adding the client CA")?;
    }
    Ok(TlsMaterial {
        certs,
        key,
        client_roots: Arc::new(roots),
    })
}

/// APNs: ALPN `h2` only; a client certificate is optional, but if one is presented it must
/// chain to the dev CA and be valid now (an expired one fails the handshake).
pub(crate) fn apns_config(m: &TlsMaterial) -> anyhow::Result<Arc<ServerConfig>> {
    let verifier = WebPkiClientVerifier::builder_with_provider(m.client_roots.clone(), provider())
        .allow_unauthenticated()
        .build()
        .context("client certificate verifier")?;
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(m.certs.clone(), m.key.clone_key())
        .context("server certificate")?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(cfg))
}

/// FCM and its token endpoint: ALPN `h2` and `http/1.1`, no client certificates.
pub(crate) fn fcm_config(m: &TlsMaterial) -> anyhow::Result<Arc<ServerConfig>> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(m.certs.clone(), m.key.clone_key())
        .context("server certificate")?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

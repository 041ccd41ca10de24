//! Certificate-based APNs authentication (apns.md §4.2): what a verified client certificate
//! allows — its topics (extension 1.2.840.113635.100.6.3.6, a sequence of UTF8String topics
//! each followed by a sequence of kinds) and its environments.
//!
//! Environments are a sim convention modelled on Apple's certificates: extension
//! `1.2.840.113635.100.6.3.1` marks a development (sandbox) certificate, `…6.3.2` a production
//! one; a certificate with both or neither (such as the dev certificates in `certs/`) works in
//! both environments.

use x509_parser::der_parser::ber::BerObjectContent;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::control::types::ApnsEnvironment;

const OID_TOPICS: &str = "1.2.840.113635.100.6.3.6";
const OID_DEVELOPMENT: &str = "1.2.840.113635.100.6.3.1";
const OID_PRODUCTION: &str = "1.2.840.113635.100.6.3.2";
const OID_USER_ID: &str = "0.9.2342.19200300.100.1.1";

/// What a client certificate may push to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertIdentity {
    /// Topics from the topic extension (or the subject UID when there is none).
    pub topics: Vec<String>,
    /// The subject's UID (the app's bundle id): the default topic of a single-topic cert.
    pub subject_uid: Option<String>,
    /// Environments the certificate works in.
    pub environments: Vec<ApnsEnvironment>,
}

impl CertIdentity {
    /// Reads the identity of a (TLS-verified) DER certificate; `None` if it cannot be parsed
    /// or names no topic.
    pub(crate) fn from_der(der: &[u8]) -> Option<CertIdentity> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let subject_uid = cert
            .subject()
            .iter_attributes()
            .find(|a| a.attr_type().to_id_string() == OID_USER_ID)
            .and_then(|a| a.as_str().ok())
            .map(str::to_string);
        let mut topics = Vec::new();
        let (mut dev, mut prod) = (false, false);
        for ext in cert.extensions() {
            match ext.oid.to_id_string().as_str() {
                OID_TOPICS => topics = parse_topics(ext.value),
                OID_DEVELOPMENT => dev = true,
                OID_PRODUCTION => prod = true,
                _ => {}
            }
        }
        if topics.is_empty() {
            topics.extend(subject_uid.clone());
        }
        if topics.is_empty() {
            return None;
        }
        let environments = match (dev, prod) {
            (true, false) => vec![ApnsEnvironment::Sandbox],
            (false, true) => vec![ApnsEnvironment::Production],
            _ => vec![ApnsEnvironment::Production, ApnsEnvironment::Sandbox],
        };
        Some(CertIdentity {
            topics,
            subject_uid,
            environments,
        })
    }

    /// The topic used when a request has no `apns-topic`: only a single-topic certificate has
    /// one (its subject).
    pub(crate) fn default_topic(&self) -> Option<&str> {
        match self.topics.as_slice() {
            [only] => Some(self.subject_uid.as_deref().unwrap_or(only)),
            _ => None,
        }
    }
}

/// The UTF8String members of the topic extension's outer sequence (the kind sequences that
/// follow each topic are skipped).
fn parse_topics(value: &[u8]) -> Vec<String> {
    let Ok((_, obj)) = x509_parser::der_parser::parse_der(value) else {
        return Vec::new();
    };
    let Ok(items) = obj.as_sequence() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match &item.content {
            BerObjectContent::UTF8String(s) => Some((*s).to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn dev_certificate_topics_and_environments() {
        let pem = include_bytes!("../../../certs/apns-cert.pem");
        let der = CertificateDer::from_pem_slice(pem).unwrap();
        let id = CertIdentity::from_der(&der).unwrap();
        assert_eq!(
            id.topics,
            [
                "com.example.chat",
                "com.example.chat.voip",
                "com.example.chat.complication"
            ]
        );
        assert_eq!(id.subject_uid.as_deref(), Some("com.example.chat"));
        assert_eq!(id.environments.len(), 2);
        assert_eq!(id.default_topic(), None);
    }

    #[test]
    fn garbage_is_not_an_identity() {
        assert_eq!(CertIdentity::from_der(b"\x30\x03\x02\x01\x00"), None);
        assert!(parse_topics(b"\xff\xff").is_empty());
    }
}

//! TLS for `wss://`: rustls with ring, the webpki roots plus the user's CA file, certificates
//! pinned from that file, an explicit "accept any certificate", and errors worded for people.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::live::session::ConnectError;

/// How `wss://` servers are checked.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// A PEM file of extra certificate authorities to trust (besides the webpki roots). A
    /// self-signed server certificate can be given here too: it is then trusted as exactly
    /// that certificate (see `CertificateCheck`).
    pub extra_ca_file: Option<PathBuf>,
    /// Accept any certificate. For testing against self-signed servers; flagged wherever shown.
    pub accept_invalid_certs: bool,
    /// Append the session's TLS secrets to this file (NSS key log format), so Wireshark can
    /// decrypt a capture of the encrypted traffic. Without it, `SSLKEYLOGFILE` is honoured.
    pub key_log_file: Option<PathBuf>,
}

/// Appends TLS secrets to a file the user named, in the NSS key log format Wireshark reads
/// ("LABEL <client random hex> <secret hex>"). rustls's own `KeyLogFile` only takes the path
/// from `SSLKEYLOGFILE`, hence these few lines.
#[derive(Debug)]
struct KeyLogTo(std::sync::Mutex<std::fs::File>);

impl rustls::KeyLog for KeyLogTo {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        use std::fmt::Write as _;
        let mut line = String::with_capacity(label.len() + 2 * (client_random.len() + secret.len()) + 3);
        line.push_str(label);
        for part in [client_random, secret] {
            line.push(' ');
            for b in part {
                let _ = write!(line, "{b:02x}");
            }
        }
        line.push('\n');
        if let Ok(mut file) = self.0.lock() {
            // A failed write loses that secret only; the connection goes on.
            let _ = std::io::Write::write_all(&mut *file, line.as_bytes());
        }
    }
}

/// The webpki check, plus certificates pinned from the user's CA file, or no certificate
/// check at all when the user asked to accept any. Handshake signatures are always checked
/// against the certificate's key (so even "accept any" encrypts to whoever holds that key,
/// just without authenticating it).
///
/// Why pinning: `openssl req -x509` (the usual way to make a development certificate) marks
/// it as a CA, and webpki refuses a CA certificate as a server's own ("CaUsedAsEndEntity")
/// even when it is the trusted root itself, where curl, browsers and Python accept it.
/// Trusting the exact bytes the user gave is the same trust; the host name is still checked,
/// its validity dates are not (webpki offers no check of them alone).
#[derive(Debug)]
struct CertificateCheck {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    accept_any: bool,
}

impl ServerCertVerifier for CertificateCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.accept_any {
            return Ok(ServerCertVerified::assertion());
        }
        let checked = self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match checked {
            Err(rustls::Error::InvalidCertificate(_))
                if self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Reads every certificate of a PEM file.
fn read_certificates(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let bad = |e: &dyn std::fmt::Display| ConnectError::Tls(format!("cannot read {}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if certs.is_empty() {
        return Err(bad(&"no PEM certificate in it"));
    }
    Ok(certs)
}

/// The rustls client configuration for `options` (ring as the crypto provider, chosen here
/// explicitly: the TLS features of tokio-tungstenite pick none).
pub fn tls_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, ConnectError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // With "accept any" the file is not needed, so a bad one does not stand in the way.
    let pinned = match &options.extra_ca_file {
        Some(path) if !options.accept_invalid_certs => read_certificates(path)?,
        _ => Vec::new(),
    };
    for cert in &pinned {
        // A certificate webpki cannot use as an authority may still be pinned.
        let _ = roots.add(cert.clone());
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| ConnectError::Tls(e.to_string()))?;
    let verifier = Arc::new(CertificateCheck {
        webpki,
        pinned,
        accept_any: options.accept_invalid_certs,
    });
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    if let Some(path) = &options.key_log_file {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| ConnectError::Tls(format!("cannot write the key log {}: {e}", path.display())))?;
        config.key_log = Arc::new(KeyLogTo(std::sync::Mutex::new(file)));
    } else if std::env::var_os("SSLKEYLOGFILE").is_some() {
        // The convention browsers and curl follow: with SSLKEYLOGFILE set, session secrets are
        // appended there so Wireshark can decrypt a capture of the session.
        config.key_log = Arc::new(rustls::KeyLogFile::new());
    }
    Ok(Arc::new(config))
}

/// A failed TLS handshake in words: what is wrong with the certificate, or the likely
/// mistake (a plain server on the other end).
pub fn describe_tls_error(error: &std::io::Error, host: &str) -> ConnectError {
    let rustls_error = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
    let certificate = match rustls_error {
        Some(rustls::Error::InvalidCertificate(problem)) => problem,
        Some(rustls::Error::InvalidMessage(_)) => {
            return ConnectError::Tls(format!(
                "the server did not answer in TLS ({error}); is it a plain ws:// server?"
            ));
        }
        _ if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            return ConnectError::Tls(
                "the server closed the connection during the TLS handshake; is it a plain ws:// server?".to_owned(),
            );
        }
        _ => return ConnectError::Tls(error.to_string()),
    };
    let why = match certificate {
        CertificateError::UnknownIssuer => {
            format!("the certificate of {host} is signed by an authority that is not trusted (self-signed?)")
        }
        CertificateError::NotValidForName => format!("the certificate is not valid for {host}"),
        CertificateError::Expired => "the certificate has expired".to_owned(),
        CertificateError::NotValidYet => "the certificate is not valid yet".to_owned(),
        CertificateError::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
            format!("{host} presented a CA certificate as its own (as `openssl req -x509` makes them)")
        }
        other => other.to_string(),
    };
    ConnectError::Certificate(why)
}

/// The name a `wss://` client sends as SNI and checks the certificate against: `sni` when
/// the user gave one (a server reached by IP address or through a tunnel), else the URL's host.
pub fn server_name(host: &str, sni: Option<&str>) -> Result<ServerName<'static>, String> {
    let name = sni.unwrap_or(host).trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(name.to_owned()).map_err(|e| format!("'{name}' is not a valid TLS server name: {e}"))
}

/// A rustls server configuration (ring) from a PEM certificate chain and a PEM private key
/// (PKCS#8, PKCS#1 or SEC1): for `probe --serve` over TLS.
pub fn server_config(cert: &std::path::Path, key: &std::path::Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls_pki_types::PrivateKeyDer;
    let chain = read_certificates(cert).map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read a PEM private key from {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not make a TLS server: {e}"))?;
    Ok(Arc::new(config))
}

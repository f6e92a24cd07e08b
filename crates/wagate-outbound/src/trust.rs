//! Where every HTTP client of the gateway starts: WebPKI's roots plus the
//! system's, the system's read **once per process**.
//!
//! reqwest reads the system's root certificates (`/etc/ssl/certs`, some 150
//! files) each time a client is built with native roots on, and the
//! gateway builds several clients at start-up (webhooks, outbound guard,
//! media, cluster, outbox): seven reads of that directory, two of them
//! before the store opens, were most of the time to `/health`. Here they
//! are read once and handed to every client.

use std::sync::LazyLock;

/// The system's trusted roots, as reqwest takes them. A root rustls does
/// not accept as a trust anchor is skipped, as reqwest skips it when it
/// reads them itself (given to a builder, it would fail the build).
static SYSTEM_ROOTS: LazyLock<Vec<reqwest::Certificate>> = LazyLock::new(|| {
    rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .filter(|der| rustls::RootCertStore::empty().add(der.clone()).is_ok())
        .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok())
        .collect()
});

/// A client builder that trusts WebPKI's roots and the system's, without
/// reading the system's again.
pub fn client_builder() -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder().tls_built_in_native_certs(false);
    for root in SYSTEM_ROOTS.iter() {
        builder = builder.add_root_certificate(root.clone());
    }
    builder
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_system_roots_are_read_once_and_clients_build() {
        let first: *const _ = &*super::SYSTEM_ROOTS;
        super::client_builder().build().unwrap();
        super::client_builder().build().unwrap();
        assert!(std::ptr::eq(first, &*super::SYSTEM_ROOTS));
    }
}

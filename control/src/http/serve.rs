//! Serving a router until shutdown, over TLS when a configuration is given (axum-server with rustls)
//! or plaintext, always with each client's address (for the audit trail).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long open connections may finish after shutdown over TLS.
const GRACE: Duration = Duration::from_secs(5);

/// Serves `router` on `listener` until `shutdown` changes, in a task.
pub fn serve_until_shutdown(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>> {
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        match tls {
            None => {
                axum::serve(listener, service)
                    .with_graceful_shutdown(async move {
                        let _ = shutdown.changed().await;
                    })
                    .await
            }
            Some(config) => {
                let handle = axum_server::Handle::<SocketAddr>::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    let _ = shutdown.changed().await;
                    stopper.graceful_shutdown(Some(GRACE));
                });
                axum_server::Server::<SocketAddr>::from_listener(listener)
                    .acceptor(RustlsAcceptor::new(RustlsConfig::from_config(config)))
                    .handle(handle)
                    .serve(service)
                    .await
            }
        }
    })
}

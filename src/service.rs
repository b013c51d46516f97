//! What every long-running subcommand shares: waiting for Ctrl-C or SIGTERM, and rendering its metrics.

/// Renders `handle`'s metrics (after its upkeep).
pub(crate) fn prometheus_render(
    handle: metrics_exporter_prometheus::PrometheusHandle,
) -> control::http::MetricsRender {
    std::sync::Arc::new(move || {
        handle.run_upkeep();
        handle.render()
    })
}

/// The control service's user store, which guards a service's HTTP API.
pub(crate) async fn user_store(config: &meterlake::Config) -> anyhow::Result<control::Control> {
    use anyhow::Context;
    crate::control_cli::use_cases(config)
        .await
        .context("opening the user store (control.database) that guards the HTTP API")
}

/// Serves `router` (the HTTP API of `what`) on `listener` with the `[tls]` certificate until
/// `shutdown` changes, in a task.
pub(crate) fn serve_http(
    config: &meterlake::Config,
    what: &str,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let tls = config.tls.server_config(what, &control::tls::HTTP_ALPN)?;
    Ok(control::http::serve::serve_until_shutdown(
        listener, router, tls, shutdown,
    ))
}

/// Returns on Ctrl-C or SIGTERM.
pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

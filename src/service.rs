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

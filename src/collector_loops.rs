//! A collector's background loops (spool forwarder, relay command consumer), supervised: a failure is
//! logged and the loop restarted with backoff, visible in `/healthz` and counted in Prometheus.

use std::sync::Arc;
use std::time::Duration;

use ingest::collector::Collector;
use ingest::kafka::KafkaSettings;
use ingest::supervise::Supervisor;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts the forwarder and the command loop of `collector` under `supervisor`.
pub fn spawn(
    supervisor: &Supervisor,
    collector: &Arc<Collector>,
    settings: &KafkaSettings,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let (c, rx) = (collector.clone(), shutdown.clone());
    let forwarder = supervisor.spawn("spool_forwarder", shutdown.clone(), move |handle| {
        let (forwarder, rx) = (c.forwarder(), rx.clone());
        async move {
            handle.success();
            forwarder.run(rx, Duration::from_secs(10)).await
        }
    });
    let (c, rx, s) = (collector.clone(), shutdown.clone(), settings.clone());
    let commands = supervisor.spawn("command_consumer", shutdown.clone(), move |handle| {
        let (c, rx, s) = (c.clone(), rx.clone(), s.clone());
        async move {
            handle.success();
            c.run_commands(s, rx).await
        }
    });
    vec![forwarder, commands]
}

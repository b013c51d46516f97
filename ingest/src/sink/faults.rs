//! What is going wrong in a sink now, as its `/healthz` and metrics name it.

/// Something that stops the sink moving readings into the lake while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkFault {
    /// The consumer cannot reach the Kafka cluster.
    KafkaUnreachable,
    /// The sink's run ended on an error (a failed lake commit, say) and waits to start again.
    SinkRestarting,
}

impl SinkFault {
    /// What is wrong now, given whether Kafka is unreachable and whether the supervised sink loop is
    /// running.
    pub fn current(kafka_down: bool, loop_healthy: bool) -> Vec<Self> {
        let mut faults = Vec::new();
        if kafka_down {
            faults.push(Self::KafkaUnreachable);
        }
        if !loop_healthy {
            faults.push(Self::SinkRestarting);
        }
        faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_named_as_health_shows_them() {
        assert!(SinkFault::current(false, true).is_empty());
        let both = SinkFault::current(true, false);
        assert_eq!(
            serde_json::to_value(both).unwrap(),
            serde_json::json!(["kafka_unreachable", "sink_restarting"])
        );
    }
}

//! Kafka → lake throughput: reading rows per second from the readings topic to rows committed in the Delta
//! table by the real sink (consume, decode Arrow IPC, deduplicate, sort, write Parquet, commit), with the
//! broker (librdkafka's mock cluster) in this process. Beside it, the raw ceiling: Parquet encoding alone of
//! the same rows in the same flush-sized batches with the lake's writer settings. Then file counts and sizes
//! before and after compaction.
//!
//! `cargo bench --bench lake_ingest -- [ROWS] [ROWS_PER_MESSAGE] [FLUSH_ROWS]` (default 4,000,000 × 2,000 ×
//! 1,000,000). Without `--bench` (as under `cargo test --all-targets`) it runs 20,000 × 1,000 × 10,000.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use chrono::{DateTime, TimeDelta, Utc};
use ingest::kafka::message::{encode_arrow, ARROW_STREAM, CONTENT_TYPE};
use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use ingest::reading::{readings_to_batch, Quality, Reading};
use ingest::sink::{Sink, SinkConfig};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rust_decimal::Decimal;
use store::{CompactOptions, Lake, LakeLocation};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
/// Partitions of the topic: the mock broker keeps at most 5 MB per partition, and every row is produced before
/// the clock starts, so the rows are spread wide enough to stay.
const PARTITIONS: i32 = 64;

mod args;

use args::positional as arg;

/// One bus's message: `meters` meters at `boundary` with plausible register values.
fn message_batch(bus: usize, meters: usize, boundary: DateTime<Utc>, round: i64) -> RecordBatch {
    let rows: Vec<Reading> = (0..meters)
        .map(|m| {
            let meter = bus * meters + m;
            let mut r = Reading::empty(
                format!("{:012}", 100_000_000 + meter),
                boundary,
                &format!("bus-{bus:05}"),
                "bench-collector",
            );
            let kwh = Decimal::new(100_000 + (meter as i64 % 997) * 13 + round * 7, 2);
            r.read_ts = boundary + TimeDelta::milliseconds(300 + (meter % 500) as i64);
            r.meter_clock = Some(boundary + TimeDelta::seconds((meter % 40) as i64 - 20));
            r.energy_fwd_total_kwh = Some(kwh);
            r.energy_fwd_tariff_kwh = [
                Some(kwh * Decimal::new(1, 1)),
                Some(kwh * Decimal::new(3, 1)),
                Some(kwh * Decimal::new(4, 1)),
                Some(kwh * Decimal::new(2, 1)),
            ];
            r.energy_rev_total_kwh = Some(Decimal::ZERO);
            r.voltage_v = Some(220.0 + (meter % 13) as f64 * 0.7);
            r.current_a = Some(1.0 + (meter % 29) as f64 * 0.31);
            r.active_power_kw = Some(0.2 + (meter % 31) as f64 * 0.07);
            r.power_factor = Some(0.95);
            r.frequency_hz = Some(50.0);
            r.status_words = [Some(0); 7];
            r.balance_yuan = Some(Decimal::new(12_345 + (meter as i64 % 5000), 2));
            r.overdraft_yuan = Some(Decimal::ZERO);
            r.quality = Quality::Ok;
            r
        })
        .collect();
    readings_to_batch(&rows).expect("batch")
}

fn parquet_ceiling(batches: &[RecordBatch], flush_rows: usize) -> anyhow::Result<(f64, usize)> {
    let schema = batches[0].schema();
    let started = Instant::now();
    let mut bytes = 0;
    for chunk in batches.chunks((flush_rows / batches[0].num_rows().max(1)).max(1)) {
        let mut out = Vec::new();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            &mut out,
            schema.clone(),
            Some(store::lake::writer_properties()?),
        )?;
        for batch in chunk {
            writer.write(batch)?;
        }
        writer.close()?;
        bytes += out.len();
    }
    Ok((started.elapsed().as_secs_f64(), bytes))
}

/// Seconds to consume and decode every message with a plain consumer (the sink's input side alone).
async fn consume_only(
    settings: &KafkaSettings,
    topics: &Topics,
    messages: usize,
) -> anyhow::Result<f64> {
    use rdkafka::consumer::Consumer;
    use rdkafka::Message;
    let consumer = ingest::kafka::consumer(settings, "bench-consume-only")?;
    consumer.subscribe(&[&topics.readings])?;
    let first = consumer.recv().await?;
    let started = Instant::now();
    let mut decoded =
        ingest::kafka::message::decode(first.payload().unwrap_or_default(), None, None)?.len();
    for _ in 1..messages {
        let message = consumer.recv().await?;
        decoded +=
            ingest::kafka::message::decode(message.payload().unwrap_or_default(), None, None)?
                .len();
    }
    anyhow::ensure!(decoded >= messages, "decoded {decoded} batches");
    Ok(started.elapsed().as_secs_f64())
}

fn file_sizes(lake: &Lake) -> anyhow::Result<(usize, u64)> {
    let mut total = 0;
    let uris = lake.file_uris()?;
    for uri in &uris {
        total += std::fs::metadata(uri.trim_start_matches("file://"))?.len();
    }
    Ok((uris.len(), total))
}

fn main() -> anyhow::Result<()> {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("METERLAKE_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let bench = args::full_run();
    let (rows, per_message, flush_rows) = if bench {
        (arg(1, 4_000_000), arg(2, 2_000), arg(3, 1_000_000))
    } else {
        (20_000, 1_000, 10_000)
    };
    let messages = rows.div_ceil(per_message);
    let buses = 200.min(messages).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let topics = Topics::with_prefix("bench.");
    let kafka = EmbeddedKafka::start(1, &topics, PARTITIONS)?;
    let settings = KafkaSettings {
        brokers: kafka.bootstrap_servers(),
        properties: Default::default(),
    };
    let dir = tempfile::tempdir()?;
    let location = LakeLocation::parse(dir.path().join("lake").to_str().unwrap_or("lake"))?;
    runtime.block_on(async move {
        // Every bus sends one message per round; rounds are consecutive 15-minute boundaries.
        let start: DateTime<Utc> = "2026-10-01T00:00:00Z".parse()?;
        let mut batches = Vec::with_capacity(messages);
        for index in 0..messages {
            let (round, bus) = (index / buses, index % buses);
            let boundary = start + TimeDelta::minutes(15 * round as i64);
            batches.push((bus, message_batch(bus, per_message, boundary, round as i64)));
        }
        eprintln!("producing {messages} messages");
        let producer: ingest::kafka::KafkaProducer = ingest::kafka::producer(&settings)?;
        let produce_started = Instant::now();
        let mut sends = Vec::with_capacity(messages);
        for (bus, batch) in &batches {
            let payload = encode_arrow(batch)?;
            let key = format!("bus-{bus:05}");
            let headers = OwnedHeaders::new().insert(Header {
                key: CONTENT_TYPE,
                value: Some(ARROW_STREAM),
            });
            let mut record = FutureRecord::to(&topics.readings)
                .key(&key)
                .payload(&payload)
                .headers(headers);
            loop {
                match producer.send_result(record) {
                    Ok(delivery) => {
                        sends.push(delivery);
                        break;
                    }
                    Err((rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ), again)) => {
                        record = again;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((err, _)) => return Err(err.into()),
                }
            }
        }
        for send in sends {
            send.await?.map_err(|(e, _)| e)?;
        }
        let produce_secs = produce_started.elapsed().as_secs_f64();

        eprintln!("consuming with a plain consumer");
        let consume_secs = consume_only(&settings, &topics, messages).await?;
        eprintln!("running the sink");
        let lake = Lake::open(&location, ZONE).await?;
        let sink = Sink::new(
            SinkConfig {
                group_id: "bench-sink".into(),
                flush_rows,
                // The sink's default latency bound (`sink.flush_interval_ms`): the last partial buffer waits for it.
                flush_interval: Duration::from_millis(500),
                future_tolerance: Duration::from_secs(900),
            },
            &settings,
            topics.clone(),
            lake,
            &location,
        )
        .await?;
        let stats = sink.stats();
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(sink.run(stop_rx));
        // The clock starts when the group has assigned the partitions (joining takes seconds, not rows).
        while stats.partitions_assigned.load(Ordering::Relaxed) == 0 {
            if running.is_finished() {
                anyhow::bail!("the sink stopped before joining");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let started = Instant::now();
        let total = (messages * per_message) as u64;
        while stats.rows_committed.load(Ordering::Relaxed) < total {
            if running.is_finished() {
                anyhow::bail!("the sink stopped early");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let sink_secs = started.elapsed().as_secs_f64();
        let _ = stop.send(true);
        running.await??;

        eprintln!("encoding the raw ceiling, then compacting");
        let plain: Vec<RecordBatch> = batches.into_iter().map(|(_, b)| b).collect();
        let (raw_secs, raw_bytes) = parquet_ceiling(&plain, flush_rows)?;
        let mut lake = Lake::open(&location, ZONE).await?;
        let (files_before, bytes_before) = file_sizes(&lake)?;
        let compact_started = Instant::now();
        let report = lake.compact_sorted(&CompactOptions::default()).await?;
        let compact_secs = compact_started.elapsed().as_secs_f64();
        let (files_after, bytes_after) = file_sizes(&lake)?;

        let sink_rate = total as f64 / sink_secs;
        let raw_rate = total as f64 / raw_secs;
        println!(
            "rows {total} in {messages} messages of {per_message} over {PARTITIONS} partitions; flush {flush_rows} rows"
        );
        println!("produce (not timed below): {:.0} rows/s", total as f64 / produce_secs);
        println!(
            "Kafka consume + decode alone: {:.0} rows/s",
            total as f64 / consume_secs
        );
        println!(
            "Kafka → lake: {sink_rate:.0} rows/s ({sink_secs:.2} s, {} commits; {} rows dropped on rebalances, {} messages skipped)",
            stats.commits.load(Ordering::Relaxed),
            stats.rows_dropped_on_rebalance.load(Ordering::Relaxed),
            stats.duplicates_skipped.load(Ordering::Relaxed),
        );
        println!("raw Parquet ceiling: {raw_rate:.0} rows/s ({raw_secs:.2} s, {raw_bytes} bytes)");
        println!("ratio sink / ceiling: {:.2}", sink_rate / raw_rate);
        println!(
            "files before compaction: {files_before} ({bytes_before} bytes); after sorted compaction: \
             {files_after} ({bytes_after} bytes) in {compact_secs:.2} s, {} partitions",
            report.partitions
        );
        Ok(())
    })
}

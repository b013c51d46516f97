//! `meterlake meter read`: an on-demand read of one meter over TCP (a DTU) or a serial RS-485 adapter.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use ingest::collector::{BusClient, BusEndpoint};
use ingest::dlt645::explain::{ExplainedError, ExplainedValue};
use ingest::dlt645::{explain, Address, DataId, Frame};
use serde::Serialize;

use crate::frame_cli::{parse_address, parse_di};

/// Arguments of `meterlake meter`.
#[derive(Debug, Args)]
pub struct MeterArgs {
    #[command(subcommand)]
    command: MeterCommand,
}

#[derive(Debug, Subcommand)]
enum MeterCommand {
    /// Read data identifiers from one meter and print every decoded value.
    Read(ReadArgs),
}

#[derive(Debug, Args)]
struct ReadArgs {
    /// A DTU's TCP endpoint, HOST:PORT.
    #[arg(long, required_unless_present = "serial", conflicts_with = "serial")]
    tcp: Option<String>,
    /// A serial RS-485 device (8E1), e.g. /dev/ttyUSB0.
    #[arg(long)]
    serial: Option<String>,
    /// Baud rate of the serial line.
    #[arg(long, default_value_t = 2400)]
    baud: u32,
    /// Meter address (12 digits; AAAAAAAAAAAA for the only meter on the bus).
    #[arg(long)]
    address: String,
    /// Data identifiers to read (repeatable); default: energy, instantaneous values, clock, status, balance.
    #[arg(long = "di")]
    dis: Vec<String>,
    /// Time to wait for each reply.
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Retries after a timeout.
    #[arg(long, default_value_t = 1)]
    retries: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// What `meter read` reads when no `--di` is given.
pub const DEFAULT_DIS: [DataId; 15] = [
    DataId::FORWARD_ACTIVE_TOTAL,
    DataId::FORWARD_ACTIVE_T1,
    DataId::FORWARD_ACTIVE_T2,
    DataId::FORWARD_ACTIVE_T3,
    DataId::FORWARD_ACTIVE_T4,
    DataId::REVERSE_ACTIVE_TOTAL,
    DataId::VOLTAGE_A,
    DataId::CURRENT_A,
    DataId::ACTIVE_POWER,
    DataId::POWER_FACTOR,
    DataId::FREQUENCY,
    DataId::DATE,
    DataId::TIME,
    DataId::STATUS_WORD_3,
    DataId::BALANCE,
];

/// The outcome of reading one DI.
#[derive(Debug, Serialize)]
struct Row {
    di: String,
    name: &'static str,
    /// `ok`, `refused`, `no_reply` or `bad_reply`.
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    values: Vec<ExplainedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ExplainedError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// The whole read.
#[derive(Debug, Serialize)]
struct Report {
    meter: String,
    endpoint: String,
    answered: usize,
    readings: Vec<Row>,
}

/// Runs `meterlake meter ...`.
pub async fn run(args: MeterArgs) -> anyhow::Result<()> {
    match args.command {
        MeterCommand::Read(args) => read(args).await,
    }
}

async fn read(args: ReadArgs) -> anyhow::Result<()> {
    let address = parse_address(&args.address)?;
    let dis = if args.dis.is_empty() {
        DEFAULT_DIS.to_vec()
    } else {
        args.dis
            .iter()
            .map(|d| parse_di(d))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let endpoint = match (args.tcp, args.serial) {
        (Some(tcp), _) => BusEndpoint::Tcp(tcp),
        (None, Some(path)) => BusEndpoint::Serial {
            path,
            baud: args.baud,
            parity: Default::default(),
        },
        (None, None) => bail!("give --tcp HOST:PORT or --serial DEVICE"),
    };
    let mut client = BusClient::new(
        endpoint.clone(),
        Duration::from_millis(args.timeout_ms),
        args.retries,
    );
    let mut report = Report {
        meter: address.to_string(),
        endpoint: endpoint.to_string(),
        answered: 0,
        readings: Vec::new(),
    };
    for di in dis {
        let row = read_one(&mut client, address, di).await;
        let silent = row.status == "no_reply";
        if !silent {
            report.answered += 1;
        }
        report.readings.push(row);
        if silent && report.answered == 0 {
            break; // a silent meter: do not wait for every identifier
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    if report.answered == 0 {
        bail!("meter {address} never answered on {endpoint}");
    }
    Ok(())
}

async fn read_one(client: &mut BusClient, address: Address, di: DataId) -> Row {
    let mut row = Row {
        di: di.to_string(),
        name: di.name().unwrap_or("unknown"),
        status: "ok",
        values: Vec::new(),
        error: None,
        problem: None,
    };
    let reply = match client.transact(&Frame::read_request(address, di)).await {
        Ok(reply) => reply,
        Err(err) => {
            row.status = "no_reply";
            row.problem = Some(err.to_string());
            return row;
        }
    };
    let explained = explain(&reply);
    if explained.error.is_some() {
        row.status = "refused";
        row.error = explained.error;
    } else if explained.di.as_deref() != Some(row.di.as_str()) {
        row.status = "bad_reply";
        row.problem = Some(format!(
            "reply is for DI {}",
            explained.di.as_deref().unwrap_or("(none)")
        ));
    } else if let Some(problem) = explained.problem {
        row.status = "bad_reply";
        row.problem = Some(problem);
    } else {
        row.values = explained.values;
    }
    row
}

fn print_table(report: &Report) {
    println!("meter {} via {}", report.meter, report.endpoint);
    println!("{:<10}{:<42}value", "DI", "item");
    for row in &report.readings {
        match row.status {
            "ok" => {
                for v in &row.values {
                    let unit = if v.unit.is_empty() { "" } else { " " };
                    println!("{:<10}{:<42}{}{unit}{}", v.di, v.name, v.value, v.unit);
                }
            }
            "refused" => {
                let error = row.error.as_ref();
                println!(
                    "{:<10}{:<42}refused: {} {} ({})",
                    row.di,
                    row.name,
                    error.map_or("", |e| e.kind),
                    error.map_or("", |e| e.word.as_str()),
                    error.map(|e| e.bits.join(", ")).unwrap_or_default()
                );
            }
            status => println!(
                "{:<10}{:<42}{status}: {}",
                row.di,
                row.name,
                row.problem.as_deref().unwrap_or("")
            ),
        }
    }
}

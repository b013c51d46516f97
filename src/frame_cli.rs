//! `meterlake frame decode|encode`: DL/T 645 frames by hand, for bench work and tests.

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use clap::{Args, Subcommand, ValueEnum};
use ingest::dlt645::frame::parse_hex;
use ingest::dlt645::{
    encode_items, explain, Address, DataId, Frame, FreezeTime, RelayAction, RelayCommand,
};

/// Arguments of `meterlake frame`.
#[derive(Debug, Args)]
pub struct FrameArgs {
    #[command(subcommand)]
    command: FrameCommand,
}

#[derive(Debug, Subcommand)]
enum FrameCommand {
    /// Decode a DL/T 645 frame given in hex (spaces allowed) and explain every field.
    Decode {
        /// Hex bytes, e.g. "68 25 04 03 02 01 00 68 11 04 33 33 34 33 E1 16".
        hex: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Build a frame and print it in hex.
    Encode(EncodeArgs),
}

#[derive(Debug, Args)]
struct EncodeArgs {
    /// Leading FE wake-up bytes (0..=4).
    #[arg(long, default_value_t = 0, global = true)]
    preamble: usize,
    #[command(subcommand)]
    frame: EncodeCommand,
}

#[derive(Debug, Subcommand)]
enum EncodeCommand {
    /// Read data (0x11).
    Read {
        /// Meter address (12 digits, `AA` wildcards allowed).
        #[arg(long)]
        address: String,
        /// Data identifier, 8 hex digits (e.g. 00010000, 0001FF00).
        #[arg(long)]
        di: String,
    },
    /// Read follow-up data (0x12) with a frame sequence number.
    ReadFollowUp {
        /// Meter address.
        #[arg(long)]
        address: String,
        /// Data identifier.
        #[arg(long)]
        di: String,
        /// Frame sequence number SEQ.
        #[arg(long)]
        seq: u8,
    },
    /// Read the address of the only meter on the bus (0x13 to AA×6).
    ReadAddress,
    /// Broadcast time sync (0x08 to 99×6).
    TimeSync {
        /// The meters' new local time, "YYYY-MM-DD hh:mm:ss".
        #[arg(long)]
        at: String,
    },
    /// Relay control (0x1C), plaintext.
    Relay {
        /// Meter address.
        #[arg(long)]
        address: String,
        /// The command (N1).
        #[arg(long, value_enum)]
        action: ActionArg,
        /// N2: auto-restore delay in 5-minute units for the pre-trips (otherwise reserved, 0).
        #[arg(long, default_value_t = 0)]
        delay: u8,
        /// The meter refuses the command after this local time, "YYYY-MM-DD hh:mm:ss".
        #[arg(long)]
        valid_until: String,
        /// Privilege level PA in hex (02 or 04 for plaintext).
        #[arg(long, default_value = "02")]
        privilege: String,
    },
    /// Freeze now (0x16 with 99999999); use 999999999999 for a broadcast freeze.
    Freeze {
        /// Meter address.
        #[arg(long)]
        address: String,
    },
    /// A meter's normal read reply (0x91) carrying values, for testing collectors.
    Reply {
        /// Meter address.
        #[arg(long)]
        address: String,
        /// Data identifier (a block DI takes one value per item).
        #[arg(long)]
        di: String,
        /// The value(s), e.g. 1.2345, 0x8200, 2026-08-02, 10:22:51; repeat for block items.
        #[arg(long = "value", required = true)]
        values: Vec<String>,
    },
}

/// The N1 codes by the names operators use.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ActionArg {
    /// 0x1A trip.
    Trip,
    /// 0x1B close allowed.
    CloseAllowed,
    /// 0x1C close directly.
    Close,
    /// 0x1D pre-trip, then close automatically after N2 × 5 min.
    PreTripRestore,
    /// 0x1E pre-trip, then close allowed after N2 × 5 min.
    PreTripCloseAllowed,
    /// 0x2A alarm on.
    Alarm,
    /// 0x2B alarm release.
    AlarmOff,
    /// 0x3A keep-power on.
    KeepPower,
    /// 0x3B keep-power release.
    KeepPowerOff,
}

impl From<ActionArg> for RelayAction {
    fn from(arg: ActionArg) -> Self {
        match arg {
            ActionArg::Trip => RelayAction::Trip,
            ActionArg::CloseAllowed => RelayAction::CloseAllowed,
            ActionArg::Close => RelayAction::Close,
            ActionArg::PreTripRestore => RelayAction::PreTripAutoClose,
            ActionArg::PreTripCloseAllowed => RelayAction::PreTripCloseAllowed,
            ActionArg::Alarm => RelayAction::AlarmOn,
            ActionArg::AlarmOff => RelayAction::AlarmOff,
            ActionArg::KeepPower => RelayAction::KeepPowerOn,
            ActionArg::KeepPowerOff => RelayAction::KeepPowerOff,
        }
    }
}

/// Runs `meterlake frame ...`.
pub fn run(args: FrameArgs) -> anyhow::Result<()> {
    match args.command {
        FrameCommand::Decode { hex, json } => decode(&hex, json),
        FrameCommand::Encode(args) => {
            if args.preamble > 4 {
                bail!("--preamble takes 0..=4 FE bytes, got {}", args.preamble);
            }
            let bytes = build(args.frame)?.encode(args.preamble)?;
            println!("{}", hex_spaced(&bytes));
            Ok(())
        }
    }
}

fn decode(hex: &str, json: bool) -> anyhow::Result<()> {
    let bytes = parse_hex(hex)?;
    let (frame, used) = Frame::decode(&bytes).context("not a valid DL/T 645 frame")?;
    if used < bytes.len() {
        eprintln!("note: {} bytes after the frame ignored", bytes.len() - used);
    }
    let explanation = explain(&frame);
    if json {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        print!("{explanation}");
    }
    Ok(())
}

/// Bytes as upper-case hex pairs separated by spaces, the way the protocol documents write frames.
pub fn hex_spaced(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses a meter address with a message naming the argument.
pub fn parse_address(text: &str) -> anyhow::Result<Address> {
    text.parse()
        .with_context(|| format!("--address {text:?} is not a meter address"))
}

/// Parses a DI with a message naming the argument.
pub fn parse_di(text: &str) -> anyhow::Result<DataId> {
    text.parse()
        .with_context(|| format!("--di {text:?} is not a data identifier"))
}

fn parse_time(text: &str) -> anyhow::Result<NaiveDateTime> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .with_context(|| format!("{text:?} is not a time like \"2026-11-24 10:22:51\""))
}

fn build(command: EncodeCommand) -> anyhow::Result<Frame> {
    Ok(match command {
        EncodeCommand::Read { address, di } => {
            Frame::read_request(parse_address(&address)?, parse_di(&di)?)
        }
        EncodeCommand::ReadFollowUp { address, di, seq } => {
            Frame::read_follow_up_request(parse_address(&address)?, parse_di(&di)?, seq)
        }
        EncodeCommand::ReadAddress => Frame::read_address_request(),
        EncodeCommand::TimeSync { at } => Frame::time_sync(parse_time(&at)?),
        EncodeCommand::Relay {
            address,
            action,
            delay,
            valid_until,
            privilege,
        } => {
            let privilege = u8::from_str_radix(privilege.trim(), 16)
                .with_context(|| format!("--privilege {privilege:?} is not a hex byte"))?;
            let command = RelayCommand {
                privilege,
                delay,
                ..RelayCommand::plaintext(action.into(), parse_time(&valid_until)?)
            };
            command.to_frame(parse_address(&address)?)
        }
        EncodeCommand::Freeze { address } => {
            Frame::freeze(parse_address(&address)?, FreezeTime::NOW)
        }
        EncodeCommand::Reply {
            address,
            di,
            values,
        } => {
            let di = parse_di(&di)?;
            let items = di.block_items().unwrap_or_else(|| vec![di]);
            if values.len() > items.len() {
                bail!("DI {di} takes at most {} value(s)", items.len());
            }
            let mut parsed = Vec::new();
            for (item, text) in items.iter().zip(&values) {
                let (_, format) = item
                    .describe()
                    .with_context(|| format!("DI {item} is not known; cannot encode its value"))?;
                parsed.push(format.parse(text)?);
            }
            Frame::read_reply(parse_address(&address)?, di, &encode_items(di, &parsed)?)
        }
    })
}

//! The buses file: which buses a collector owns, how to reach them and which meters hang on them.
//!
//! ```toml
//! [[bus]]
//! id = "dtu-0"
//! endpoint = "tcp://10.0.0.7:9000"        # a GPRS/4G DTU; or "serial:///dev/ttyUSB0?baud=2400&parity=even"
//! area = "A0001"                           # transformer area (metrics label), optional
//! meters = ["000000001001", "000000001002"]
//! relay_privilege = "02"                   # plaintext relay credentials of this meter group,
//! relay_password = "000000"                # optional (lab default: 02, all zeros); keep the file
//! operator_code = "00000000"               # readable only by the collector
//! ```

use super::bus_client::SerialParity;
use super::{BusConfig, BusEndpoint, PlaintextLab, RelayAuth};
use crate::dlt645::Address;

/// Errors in a buses file, naming the file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum BusesFileError {
    /// Not valid TOML or not the expected shape.
    #[error("buses file {source_name}: {message}")]
    Invalid {
        /// File name.
        source_name: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct BusesDocument {
    bus: Vec<BusEntry>,
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct BusEntry {
    id: String,
    endpoint: String,
    #[serde(default)]
    area: String,
    meters: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay_privilege: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operator_code: Option<String>,
}

impl std::str::FromStr for BusEndpoint {
    type Err = String;

    /// `tcp://host:port` (or bare `host:port`), `serial:///dev/ttyUSB0?baud=2400` (baud defaults to 2400).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = text.strip_prefix("serial://") {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let (mut baud, mut parity) = (2400, SerialParity::Even);
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("baud", value)) => {
                        baud = value
                            .parse()
                            .map_err(|_| format!("baud {value:?} is not a number"))?;
                    }
                    Some(("parity", value)) => {
                        parity = SerialParity::parse(value)
                            .ok_or_else(|| format!("parity {value:?} is not even, odd or none"))?;
                    }
                    _ => {
                        return Err(format!(
                            "unknown serial option {pair:?} (baud=N, parity=even|odd|none)"
                        ))
                    }
                }
            }
            if path.is_empty() {
                return Err(format!("{text:?} names no device"));
            }
            return Ok(Self::Serial {
                path: path.to_string(),
                baud,
                parity,
            });
        }
        let addr = text.strip_prefix("tcp://").unwrap_or(text);
        match addr.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Self::Tcp(addr.to_string()))
            }
            _ => Err(format!(
                "{text:?} is neither tcp://host:port nor serial:///dev/…"
            )),
        }
    }
}

/// Parses a buses file; `source_name` is used in errors.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<BusConfig>, BusesFileError> {
    let invalid = |message: String| BusesFileError::Invalid {
        source_name: source_name.to_string(),
        message,
    };
    let document: BusesDocument = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let mut buses = Vec::with_capacity(document.bus.len());
    for entry in document.bus {
        let endpoint = entry
            .endpoint
            .parse()
            .map_err(|e| invalid(format!("bus {}: {e}", entry.id)))?;
        let meters = entry
            .meters
            .iter()
            .map(|m| {
                m.parse::<Address>()
                    .map_err(|e| invalid(format!("bus {}: meter {m:?}: {e}", entry.id)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let auth = match (
            &entry.relay_privilege,
            &entry.relay_password,
            &entry.operator_code,
        ) {
            (None, None, None) => RelayAuth::default(),
            (privilege, password, operator) => RelayAuth::parse(
                privilege.as_deref().unwrap_or("02"),
                password.as_deref().unwrap_or("000000"),
                operator.as_deref().unwrap_or("00000000"),
            )
            .map_err(|e| invalid(format!("bus {}: {e}", entry.id)))?,
        };
        buses.push(BusConfig {
            bus_id: entry.id,
            area: entry.area,
            endpoint,
            meters,
            relay_security: std::sync::Arc::new(PlaintextLab { auth }),
        });
    }
    Ok(buses)
}

/// Writes buses in the file's format (the simulator uses it to describe its DTUs).
pub fn render(buses: &[BusConfig]) -> String {
    let document = BusesDocument {
        bus: buses
            .iter()
            .map(|b| BusEntry {
                id: b.bus_id.clone(),
                endpoint: match &b.endpoint {
                    BusEndpoint::Tcp(addr) => format!("tcp://{addr}"),
                    BusEndpoint::Serial { path, baud, parity } => {
                        let parity = match parity {
                            SerialParity::Even => "even",
                            SerialParity::Odd => "odd",
                            SerialParity::None => "none",
                        };
                        format!("serial://{path}?baud={baud}&parity={parity}")
                    }
                },
                area: b.area.clone(),
                meters: b.meters.iter().map(ToString::to_string).collect(),
                relay_privilege: None,
                relay_password: None,
                operator_code: None,
            })
            .collect(),
    };
    toml::to_string(&document).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buses_round_trip_and_errors_name_the_problem() {
        let text = r#"
            [[bus]]
            id = "dtu-0"
            endpoint = "tcp://127.0.0.1:7000"
            area = "A1"
            meters = ["000000001001", "1002"]
            [[bus]]
            id = "rs485-1"
            endpoint = "serial:///dev/ttyUSB0?baud=9600&parity=none"
            meters = []
        "#;
        let buses = parse(text, "b.toml").unwrap();
        assert_eq!(buses[0].endpoint, BusEndpoint::Tcp("127.0.0.1:7000".into()));
        assert_eq!(buses[0].meters[1].to_string(), "000000001002");
        assert_eq!(
            buses[1].endpoint,
            BusEndpoint::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 9600,
                parity: SerialParity::None,
            }
        );
        assert_eq!(parse(&render(&buses), "x").unwrap().len(), 2);

        let bad = text.replace("tcp://127.0.0.1:7000", "udp://x");
        let err = parse(&bad, "b.toml").unwrap_err().to_string();
        assert!(err.contains("b.toml") && err.contains("dtu-0"), "{err}");
        let bad = text.replace("\"1002\"", "\"12x\"");
        assert!(parse(&bad, "b.toml")
            .unwrap_err()
            .to_string()
            .contains("12x"));
        assert!(parse("[[bus]]\nid=1", "b.toml").is_err());
    }
}

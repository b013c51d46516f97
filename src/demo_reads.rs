//! The demo's reads of one meter and its customer: a forward-energy read on demand through the
//! collector's HTTP API, and the customer's personal data sealed at rest and found by phone.

use meterlake::Pipeline;

/// Records one customer's personal data (sealed at rest) and finds the account by phone.
pub async fn customer_data(p: &Pipeline) -> anyhow::Result<()> {
    let Some(meter) = p.fleet.buses.first().and_then(|b| b.addresses.first()) else {
        return Ok(());
    };
    let meter = meter.to_string();
    let details = control::app::customers::CustomerDetails {
        name: Some("王小明".into()),
        phone: Some("138-0013-8000".into()),
        address: Some("上海市浦东新区示范路1号".into()),
        id_number: Some("310115199001011234".into()),
    };
    p.control
        .set_customer(&meter, &details, &control::app::audit::Actor::cli())
        .await?;
    let found = p.control.find_customers(Some("13800138000"), None).await?;
    println!(
        "customer data: {meter} {} sealed with AES-256-GCM (key {}); search by phone finds {found:?}",
        details.masked(),
        p.control.pii_keys().active_id()
    );
    Ok(())
}

/// Reads one meter's forward energy now through the collector's HTTP API as the maintenance user.
pub async fn on_demand_read(p: &Pipeline) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(meter) = p.fleet.buses.first().and_then(|b| b.addresses.first()) else {
        return Ok(());
    };
    let path = format!("/api/meters/{meter}/read?di=00010000");
    let token = p.token(control::domain::access::Role::Maintenance);
    let mut stream = tokio::net::TcpStream::connect(p.collector_http).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: demo\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (status, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    println!(
        "\non-demand read (GET {path} as maintenance): {}\n  {}",
        status.lines().next().unwrap_or_default(),
        body.trim()
    );
    Ok(())
}

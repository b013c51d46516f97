//! The demo's people side: a webhook receiver and an SMTP server on loopback standing in for the SMS /
//! app provider and the mail relay, a customer login bound to a meter that runs out of money (with
//! e-mail and app notices), and at the end what reached them.

use std::time::Duration;

use anyhow::Context;
use control::app::audit::Actor;
use control::app::notifications::Prefs;
use control::domain::access::Role;
use control::domain::notice::Language;
use control::notify::local::{LocalSmtp, LocalWebhook};
use control::notify::SmtpSecurity;
use control::secrets::Password;
use meterlake::pipeline::Pipeline;
use rust_decimal::Decimal;

/// The demo's stand-in receivers.
pub struct Receivers {
    webhook: LocalWebhook,
    smtp: LocalSmtp,
    secret: String,
}

/// The demo's customer login.
pub struct DemoCustomer {
    /// Login name.
    pub username: String,
    /// Password (random).
    pub password: String,
    /// Their meter.
    pub meter: String,
}

impl Receivers {
    /// Starts both receivers.
    pub async fn start() -> anyhow::Result<Self> {
        let secret = control::secrets::new_csrf();
        Ok(Self {
            webhook: LocalWebhook::start(&secret, 0).await?,
            smtp: LocalSmtp::start(0).await?,
            secret,
        })
    }

    /// Points the control service's notifications at them (maintenance staff get alarm e-mails).
    pub fn configure(&self, control: &mut control::Config) {
        let notify = &mut control.notify;
        notify.webhook_url = self.webhook.url();
        notify.webhook_secret = self.secret.clone();
        notify.smtp_host = "127.0.0.1".into();
        notify.smtp_port = self.smtp.addr.port();
        notify.smtp_security = SmtpSecurity::None;
        notify.from = "meterlake demo <noreply@meterlake.demo>".into();
        notify.staff_email = STAFF.into();
        // The demo's minutes pass in seconds: its alarms are gathered per second, not per minute.
        notify.staff_digest_s = 1;
        notify.poll_ms = 200;
    }

    /// One line on where notifications go.
    pub fn describe(&self) -> String {
        format!(
            "webhook {} (HMAC-signed; stands in for SMS / app push), e-mail over SMTP to {} — local receivers",
            self.webhook.url(),
            self.smtp.addr
        )
    }
}

/// Makes `demo-customer`, bound to the first meter that starts nearly empty (it will run out, be cut
/// off, pay and be reconnected), with notices in the app and by e-mail.
pub async fn customer(p: &Pipeline) -> anyhow::Result<DemoCustomer> {
    let accounts = p.control.accounts("", 1000).await?;
    let meter = accounts
        .iter()
        .find(|a| a.balance < Decimal::new(500, 2))
        .or(accounts.first())
        .map(|a| a.meter_id.clone())
        .context("the demo has no accounts")?;
    let username = "demo-customer".to_string();
    let password = control::secrets::new_csrf();
    let actor = Actor::cli();
    let secret = Password::new(password.clone());
    match p
        .control
        .add_user(
            &actor,
            &username,
            Role::Customer,
            &secret,
            std::slice::from_ref(&meter),
        )
        .await
    {
        Ok(_) => {}
        Err(control::ControlError::Conflict(_)) => {
            p.control.reset_password(&actor, &username, &secret).await?;
        }
        Err(err) => return Err(err.into()),
    }
    let prefs = Prefs {
        lang: Language::Zh,
        app_push: true,
        email: Some("customer@meterlake.demo".into()),
    };
    p.control
        .set_notification_prefs(&meter, &prefs, &actor)
        .await?;
    Ok(DemoCustomer {
        username,
        password,
        meter,
    })
}

/// The maintenance staff's address in the demo.
const STAFF: &str = "maintenance@meterlake.demo";

/// Waits briefly for the notifier, then prints what reached the receivers and the day close of the
/// simulated day starting at `start`.
pub async fn delivered(
    p: &Pipeline,
    receivers: &Receivers,
    customer: &DemoCustomer,
    start: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    for _ in 0..25 {
        let pending = p
            .control
            .delivery_summary()
            .await?
            .into_iter()
            .find(|(state, _)| state == "pending")
            .map_or(0, |(_, n)| n);
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, hooks) = receivers.webhook.seen();
    let (_, mails) = receivers.smtp.seen();
    println!("\nnotifications (outbox → notifier → receivers):");
    for (state, n) in p.control.delivery_summary().await? {
        println!("  deliveries {state:<8} {n}");
    }
    println!(
        "  webhook received {} signed messages; SMTP server received {} e-mails",
        hooks.len(),
        mails.len()
    );
    let to_staff = mails.iter().filter(|(to, _)| to.contains(STAFF)).count();
    println!(
        "  maintenance staff got {to_staff} alarm e-mails (a window's alarms share one digest)"
    );
    for notice in p
        .control
        .notices(&customer.meter)
        .await?
        .iter()
        .rev()
        .take(6)
    {
        println!(
            "  to {}: {:<18} {}",
            customer.meter, notice.kind, notice.body
        );
    }
    day_close(p, start.with_timezone(&p.zone).date_naive()).await?;
    hotline(p).await?;
    registered(p, receivers).await
}

/// A cashier takes down a customer's call to the hotline as a ticket (客服热线) and answers it; the
/// customer is notified of the answer.
async fn hotline(p: &Pipeline) -> anyhow::Result<()> {
    use control::app::tickets::TicketOpening;
    use control::domain::ticket::{TicketCategory, TicketChannel};
    let Some(cashier) = p.staff.iter().find(|u| u.role == Role::Cashier) else {
        return Ok(());
    };
    let actor = Actor::user(&cashier.username, Role::Cashier, "demo");
    let opening = TicketOpening {
        meter_id: REGISTERING,
        category: TicketCategory::Billing,
        subject: "来电询问本月电费",
        body: "客户来电：想了解本月电费明细。",
    };
    let ticket = p
        .control
        .take_down_ticket(opening, TicketChannel::Hotline, &actor)
        .await?;
    let answer = "已核对：本月账单明细见网上营业厅“月度电费账单”。";
    p.control
        .reply_ticket(&ticket.id, None, answer, true, true, &actor)
        .await?;
    println!(
        "hotline (客服热线; /tickets, POST /api/tickets): {} took down a billing call for {REGISTERING} \
         as a ticket, answered and closed it; the customer is notified of the answer",
        cashier.username
    );
    Ok(())
}

/// The meter whose customer the demo records (with phone 138-0013-8000) registers online.
const REGISTERING: &str = "000000001001";

/// A customer registers themselves: a code for their meter and phone goes out through the SMS
/// webhook, and the code makes their login (as `/register` does in a browser).
async fn registered(p: &Pipeline, receivers: &Receivers) -> anyhow::Result<()> {
    let sms = control::notify::webhook::Webhook::new(&control::notify::NotifyConfig {
        webhook_url: receivers.webhook.url(),
        webhook_secret: receivers.secret.clone(),
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    let sms: std::sync::Arc<dyn control::notify::Channel> = std::sync::Arc::new(sms);
    let attempt = p
        .control
        .ask_registration_code(REGISTERING, "138 0013 8000", "demo", Language::Zh, &sms)
        .await?;
    let mut code = None;
    for _ in 0..50 {
        code = receivers.webhook.seen().1.iter().find_map(|body| {
            let message: serde_json::Value = serde_json::from_str(body).ok()?;
            (message["kind"] == "registration_code").then_some(())?;
            let text = message["text"].as_str()?;
            let at = text.find("验证码 ")? + "验证码 ".len();
            text.get(at..at + 6).map(str::to_string)
        });
        if code.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(code) = code else {
        println!("self-registration: no code reached the SMS webhook");
        return Ok(());
    };
    let password = Password::new(control::secrets::new_csrf());
    let (principal, _) = p
        .control
        .register_with_code(&attempt, &code, "wang-xiaoming", &password, "demo")
        .await?;
    println!(
        "self-registration (/register): a code for {REGISTERING} and the phone on record went out by SMS \
         webhook; with it `{}` registered and signed in, seeing meters {:?}",
        principal.username, principal.meters
    );
    Ok(())
}

/// Prints the day close (收费日结) of local day `today` and the open security alarms.
async fn day_close(p: &Pipeline, today: chrono::NaiveDate) -> anyhow::Result<()> {
    let day = p.control.takings(today).await?;
    let t = &day.total;
    println!(
        "
day close {today} (收费日结, summed from the audit trail; /takings): {} payments {} yuan, \
         {} refunds {} yuan, net {} yuan",
        t.payments, t.paid, t.refunds, t.refunded, t.net
    );
    for taker in &day.takers {
        println!(
            "  {:<28} {:>5} payments {:>12} yuan  {:>3} refunds {:>10} yuan",
            taker.taker, taker.payments, taker.paid, taker.refunds, taker.refunded
        );
    }
    let open = p.control.security_alarms(100).await?;
    println!(
        "security alarms open: {} (an admin closes them with a note on /users)",
        open.len()
    );
    Ok(())
}

//! Event-bus outputs: the brokers the event log can be published to, and
//! the one rule for where an event lands on them.
//!
//! A NATS subject is `wagate.<tenant>.<session>.<event>` and a RabbitMQ
//! routing key `<tenant>.<session>.<event>`; the event name keeps its dot
//! (`message.received`), so `wagate.*.*.message.*` and `*.*.message.#`
//! select every message event. Tenant and session ids are tokens the
//! gateway minted, but a token is still made safe here: anything but
//! `[A-Za-z0-9_-]` becomes `_`, and an empty id (an event of no session)
//! is `_`, so no id can add a level or a wildcard.

wire_enum! {
    /// Which broker an output publishes to.
    pub enum OutputKind {
        /// NATS JetStream (`Nats-Msg-Id` dedupe).
        Nats => "nats",
        /// RabbitMQ: a durable topic exchange, persistent messages,
        /// publisher confirms.
        Rabbitmq => "rabbitmq",
    }
}

/// Longest accepted broker URL.
const MAX_URL_CHARS: usize = 1024;

/// Checks a broker URL: the scheme the broker speaks and a host.
pub fn check_broker_url(kind: OutputKind, url: &str) -> Result<url::Url, String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let parsed = url::Url::parse(url.trim()).map_err(|_| "is not a valid URL".to_string())?;
    let schemes: &[&str] = match kind {
        OutputKind::Nats => &["nats", "tls"],
        OutputKind::Rabbitmq => &["amqp", "amqps"],
    };
    if !schemes.contains(&parsed.scheme()) {
        return Err(format!(
            "a {kind} URL starts with {}",
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_string());
    }
    Ok(parsed)
}

/// The port a broker URL reaches: its own, or the broker's default
/// (NATS 4222, AMQP 5672, AMQPS 5671).
pub fn broker_port(kind: OutputKind, url: &url::Url) -> u16 {
    url.port().unwrap_or(match kind {
        OutputKind::Nats => 4222,
        OutputKind::Rabbitmq if url.scheme() == "amqps" => 5671,
        OutputKind::Rabbitmq => 5672,
    })
}

/// Checks a JetStream stream name or a RabbitMQ exchange name.
pub fn check_target(kind: OutputKind, target: &str) -> Result<(), String> {
    let ok_char = |c: char| match kind {
        // JetStream names: no whitespace, `.`, `*`, `>`, path separators.
        OutputKind::Nats => c.is_ascii_alphanumeric() || c == '_' || c == '-',
        // AMQP exchange names: letters, digits, `-`, `_`, `.`, `:`.
        OutputKind::Rabbitmq => c.is_ascii_alphanumeric() || "-_.:".contains(c),
    };
    if target.is_empty() || target.len() > 128 || !target.chars().all(ok_char) {
        return Err(match kind {
            OutputKind::Nats => "a stream name is 1 to 128 letters, digits, '_' or '-'",
            OutputKind::Rabbitmq => {
                "an exchange name is 1 to 128 letters, digits, '-', '_', '.' or ':'"
            }
        }
        .to_string());
    }
    if kind == OutputKind::Rabbitmq && target.starts_with("amq.") {
        return Err("exchange names starting with 'amq.' belong to the broker".to_string());
    }
    Ok(())
}

/// The subject prefix every NATS subject starts with.
pub const NATS_SUBJECT_ROOT: &str = "wagate";

/// One id as a subject or routing-key token.
pub fn token(id: &str) -> String {
    if id.is_empty() {
        return "_".to_string();
    }
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `<tenant>.<session>.<event>`: the RabbitMQ routing key.
pub fn routing_key(tenant_id: &str, session_id: &str, event: &str) -> String {
    format!("{}.{}.{event}", token(tenant_id), token(session_id))
}

/// `wagate.<tenant>.<session>.<event>`: the NATS subject.
pub fn nats_subject(tenant_id: &str, session_id: &str, event: &str) -> String {
    format!(
        "{NATS_SUBJECT_ROOT}.{}",
        routing_key(tenant_id, session_id, event)
    )
}

/// The subjects a tenant's JetStream stream captures: its own only (the
/// operator's global output captures `wagate.>`).
pub fn nats_stream_subjects(tenant_id: Option<&str>) -> String {
    match tenant_id {
        Some(t) => format!("{NATS_SUBJECT_ROOT}.{}.>", token(t)),
        None => format!("{NATS_SUBJECT_ROOT}.>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_keep_the_event_dot_and_nothing_else() {
        assert_eq!(
            nats_subject("tnt_a", "sess_b", "message.received"),
            "wagate.tnt_a.sess_b.message.received"
        );
        assert_eq!(
            routing_key("tnt_a", "", "webhook.disabled"),
            "tnt_a._.webhook.disabled"
        );
        // An id cannot add a level or a wildcard.
        assert_eq!(token("a.b*>c d"), "a_b__c_d");
        assert_eq!(nats_stream_subjects(Some("tnt_a")), "wagate.tnt_a.>");
        assert_eq!(nats_stream_subjects(None), "wagate.>");
    }

    #[test]
    fn kinds_are_wire_words() {
        assert_eq!(OutputKind::Nats.as_str(), "nats");
        assert_eq!(
            "rabbitmq".parse::<OutputKind>().unwrap(),
            OutputKind::Rabbitmq
        );
        assert!("kafka".parse::<OutputKind>().is_err());
    }

    #[test]
    fn broker_urls_name_their_broker() {
        assert!(check_broker_url(OutputKind::Nats, "nats://127.0.0.1:4222").is_ok());
        assert!(check_broker_url(OutputKind::Nats, "tls://nats.example.com").is_ok());
        assert!(check_broker_url(OutputKind::Nats, "amqp://x").is_err());
        assert!(
            check_broker_url(
                OutputKind::Rabbitmq,
                "amqp://guest:guest@127.0.0.1:5672/%2f"
            )
            .is_ok()
        );
        assert!(check_broker_url(OutputKind::Rabbitmq, "http://x").is_err());
        assert!(check_broker_url(OutputKind::Rabbitmq, "not a url").is_err());
    }

    #[test]
    fn targets_are_names() {
        assert!(check_target(OutputKind::Nats, "WAGATE").is_ok());
        assert!(check_target(OutputKind::Nats, "a.b").is_err());
        assert!(check_target(OutputKind::Nats, "").is_err());
        assert!(check_target(OutputKind::Rabbitmq, "wagate.events").is_ok());
        assert!(check_target(OutputKind::Rabbitmq, "amq.topic").is_err());
        assert!(check_target(OutputKind::Rabbitmq, "a b").is_err());
    }
}

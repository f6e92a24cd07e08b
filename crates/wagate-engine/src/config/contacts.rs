//! Recipient checks before sending (`VALIDATE_RECIPIENTS`).

#[derive(Clone, Debug)]
pub struct ContactsConfig {
    /// Check recipients before sending (`VALIDATE_RECIPIENTS`, default on).
    pub validate_recipients: bool,
}

impl Default for ContactsConfig {
    fn default() -> Self {
        ContactsConfig {
            validate_recipients: true,
        }
    }
}

impl ContactsConfig {
    /// Reads `VALIDATE_RECIPIENTS` (`true`/`false`, `1`/`0`, `on`/`off`).
    pub fn from_env() -> Result<ContactsConfig, String> {
        Self::from_value(std::env::var("VALIDATE_RECIPIENTS").ok().as_deref())
    }

    pub fn from_value(v: Option<&str>) -> Result<ContactsConfig, String> {
        let validate_recipients = match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") => true,
            Some("true" | "1" | "on" | "yes") => true,
            Some("false" | "0" | "off" | "no") => false,
            Some(other) => {
                return Err(format!(
                    "VALIDATE_RECIPIENTS must be true or false, not '{other}'"
                ));
            }
        };
        Ok(ContactsConfig {
            validate_recipients,
        })
    }
}

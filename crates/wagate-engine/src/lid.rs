//! LID and phone numbers.
//!
//! WhatsApp names more and more people by a LID (`…@lid`), an id that is
//! not their phone number. whatsapp-rust learns each LID ↔ phone-number
//! pair it meets (a message's `sender_pn`, usync answers, history syncs)
//! into its cache, backed by the store's `wa_lid_pn_mappings`. Here the
//! session reads that cache to:
//! - put the phone number beside a LID in message events (`senderPn`,
//!   `chatPn`; and `senderLid` when a message named by phone number says
//!   its sender's LID), so a client can tell who wrote;
//! - find a receipt's message whatever address the message was sent to;
//! - answer `GET …/contacts/{id}/lid` and `…/pn`, asking WhatsApp (usync's
//!   `lid` protocol) when the pair is not known yet.

use serde_json::{Value, json};
use wagate_core::ChatId;
use wagate_store::app::NewMessage;
use whatsapp_rust::Jid;
use whatsapp_rust::client::Client;
use whatsapp_rust::lid_pn_cache::LearningSource;
use whatsapp_rust::wacore::iq::usync::LidQuerySpec;
use whatsapp_rust::wacore_binary::JidExt as _;

use crate::error::EngineError;
use crate::session::Session;

/// A person's two addresses, as user parts (`100…`, `628…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LidPn {
    pub lid: String,
    pub pn: String,
}

impl LidPn {
    /// `…@lid`.
    pub fn lid_id(&self) -> String {
        format!("{}@lid", self.lid)
    }

    /// `628…@c.us`.
    pub fn pn_id(&self) -> String {
        format!("{}@c.us", self.pn)
    }
}

/// The pair the engine knows for a person's JID (either form).
async fn known(client: &Client, jid: &Jid) -> Option<LidPn> {
    let entry = client.get_lid_pn_entry(jid).await.ok()??;
    Some(LidPn {
        lid: entry.lid.to_string(),
        pn: entry.phone_number.to_string(),
    })
}

impl Session {
    /// The LID ↔ phone-number pair of a person named either way: what the
    /// engine learned, else WhatsApp's answer (which the engine keeps).
    /// [`EngineError::LidNotFound`] when WhatsApp reveals none.
    pub async fn lid_pn(&self, person: &ChatId) -> Result<LidPn, EngineError> {
        let jid: Jid = person
            .jid()
            .parse()
            .map_err(|_| EngineError::InvalidChatId(person.api()))?;
        if jid.is_group() {
            return Err(EngineError::InvalidChatId(format!(
                "{} is a group; give a contact (628…@c.us or …@lid)",
                person.api()
            )));
        }
        let client = self.ready_client().await?;
        if let Some(pair) = known(&client, &jid).await {
            return Ok(pair);
        }
        let sid = format!("lid-{}", wagate_core::now_ms());
        let answer = client
            .execute(LidQuerySpec::new(vec![jid.clone()], sid))
            .await
            .map_err(|e| EngineError::Engine(format!("LID query failed: {e}")))?;
        let wanted = |lid: &str, pn: &str| {
            if jid.is_lid() {
                lid == jid.user.as_str()
            } else {
                pn == jid.user.as_str()
            }
        };
        let Some(m) = answer
            .lid_mappings
            .into_iter()
            .find(|m| wanted(&m.lid, &m.phone_number))
        else {
            return Err(EngineError::LidNotFound(person.api()));
        };
        if let Err(e) = client
            .add_lid_pn_mapping(&m.lid, &m.phone_number, LearningSource::Usync)
            .await
        {
            tracing::warn!(session = %self.id, "could not keep a LID mapping: {e}");
        }
        Ok(LidPn {
            lid: m.lid.to_string(),
            pn: m.phone_number.to_string(),
        })
    }

    /// The other address (a LID's phone-number JID, a phone number's LID)
    /// of a person's JID, as the engine knows it.
    pub(crate) async fn other_address(&self, jid: &Jid) -> Option<String> {
        let client = self.client().await?;
        let pair = known(&client, jid).await?;
        Some(if jid.is_lid() {
            format!("{}@s.whatsapp.net", pair.pn)
        } else {
            format!("{}@lid", pair.lid)
        })
    }

    /// The phone number (`628…@c.us`) of a LID JID string, when known.
    async fn pn_of_lid(&self, jid: &str) -> Option<String> {
        let jid: Jid = jid.parse().ok()?;
        let client = self.client().await?;
        known(&client, &jid).await.map(|p| p.pn_id())
    }

    /// Adds to a message event's `data` what the session knows of the
    /// other addresses of its LID-named sender and chat: `senderPn` and
    /// `chatPn` (`628…@c.us`); `senderLid` when a message named by phone
    /// number carried its sender's LID (`sender_alt`, the stanza's own
    /// word, is preferred to the cache).
    pub(crate) async fn add_lid_fields(
        &self,
        data: &mut Value,
        record: &NewMessage,
        sender_alt: Option<&Jid>,
    ) {
        let sender_pn = if record.sender.ends_with("@lid") {
            match sender_alt.filter(|a| a.is_pn()) {
                Some(pn) => Some(ChatId::api_from_jid(&pn.to_non_ad_string())),
                None => self.pn_of_lid(&record.sender).await,
            }
        } else {
            None
        };
        let chat_pn = if !record.chat_id.ends_with("@lid") {
            None
        } else if record.chat_id == record.sender {
            sender_pn.clone()
        } else {
            self.pn_of_lid(&record.chat_id).await
        };
        if let Some(pn) = sender_pn {
            data["senderPn"] = json!(pn);
        }
        if let Some(pn) = chat_pn {
            data["chatPn"] = json!(pn);
        }
        if !record.sender.ends_with("@lid")
            && let Some(lid) = sender_alt.filter(|a| a.is_lid())
        {
            data["senderLid"] = json!(lid.to_non_ad_string());
        }
    }
}

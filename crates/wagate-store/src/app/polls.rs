//! Polls and their votes, per session: what a poll asks (its options and
//! how many may be chosen), the secret its votes are encrypted with, and the
//! latest vote of each voter.
//!
//! The poll message itself is an ordinary row of `messages` (type `poll`);
//! this is what counting votes needs beside it. A voter's later vote
//! replaces the earlier one by the voter's own clock, so a vote redelivered
//! or arriving out of order never undoes a newer one; an empty selection is
//! a withdrawn vote and is kept (so an older vote cannot come back).

use sqlx::{AnyConnection, Row};

use crate::app::SpineTx;
use crate::{Store, StoreError};

/// A poll to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPoll {
    pub session_id: String,
    /// The chat's JID.
    pub chat_id: String,
    /// The poll message's WhatsApp id.
    pub wa_id: String,
    /// The JID (no device) of whoever created it.
    pub creator: String,
    pub name: String,
    pub options: Vec<String>,
    /// How many options a voter may choose.
    pub selectable_count: u32,
    /// The poll's 32-byte message secret; `None` when it arrived without one
    /// (its votes cannot be read).
    pub secret: Option<Vec<u8>>,
}

/// A kept poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollRecord {
    pub poll: NewPoll,
    pub created_at: i64,
}

/// One voter's latest vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollVote {
    /// The voter's JID (no device).
    pub voter: String,
    /// The option names chosen, in the poll's order; empty = withdrawn.
    pub selected: Vec<String>,
    /// When the voter voted (their clock), epoch ms.
    pub voted_at: i64,
}

const COLUMNS: &str =
    "session_id, chat_id, wa_id, creator, name, options, selectable_count, secret, created_at";

impl Store {
    /// Keeps a poll; a second copy of the same (session, chat, id) keeps the
    /// first (and its secret). Returns whether it was new.
    pub async fn insert_poll(&self, poll: &NewPoll) -> Result<bool, StoreError> {
        insert_poll(&mut *self.pool.acquire().await?, poll).await
    }

    /// The session's poll with the WhatsApp id `wa_id`.
    pub async fn get_poll(
        &self,
        session_id: &str,
        wa_id: &str,
    ) -> Result<Option<PollRecord>, StoreError> {
        get_poll(&mut *self.pool.acquire().await?, session_id, wa_id).await
    }

    /// Every voter's latest vote on a poll (withdrawn ones included), oldest
    /// first.
    pub async fn poll_votes(
        &self,
        session_id: &str,
        chat_id: &str,
        poll_id: &str,
    ) -> Result<Vec<PollVote>, StoreError> {
        let rows = sqlx::query(
            "SELECT voter, selected, voted_at FROM poll_votes
             WHERE session_id = $1 AND chat_id = $2 AND poll_id = $3
             ORDER BY voted_at, voter",
        )
        .bind(session_id)
        .bind(chat_id)
        .bind(poll_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PollVote {
                    voter: r.try_get("voter")?,
                    selected: json_list(r.try_get("selected")?)?,
                    voted_at: r.try_get("voted_at")?,
                })
            })
            .collect()
    }

    /// Records a vote (see [`SpineTx::record_poll_vote`]).
    pub async fn record_poll_vote(
        &self,
        session_id: &str,
        chat_id: &str,
        poll_id: &str,
        vote: &PollVote,
    ) -> Result<bool, StoreError> {
        record_poll_vote(
            &mut *self.pool.acquire().await?,
            session_id,
            chat_id,
            poll_id,
            vote,
        )
        .await
    }
}

/// Poll changes inside a spine transaction, so each commits with the
/// message or event that goes with it.
impl SpineTx {
    /// See [`Store::get_poll`].
    pub async fn get_poll(
        &mut self,
        session_id: &str,
        wa_id: &str,
    ) -> Result<Option<PollRecord>, StoreError> {
        get_poll(self.conn(), session_id, wa_id).await
    }

    /// Records `vote` as the voter's latest unless a vote of theirs at the
    /// same time or later is already kept. Returns whether it was recorded.
    pub async fn record_poll_vote(
        &mut self,
        session_id: &str,
        chat_id: &str,
        poll_id: &str,
        vote: &PollVote,
    ) -> Result<bool, StoreError> {
        record_poll_vote(self.conn(), session_id, chat_id, poll_id, vote).await
    }
}

async fn insert_poll(conn: &mut AnyConnection, p: &NewPoll) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO polls (session_id, chat_id, wa_id, creator, name, options, selectable_count,
                            secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (session_id, chat_id, wa_id) DO NOTHING",
    )
    .bind(&p.session_id)
    .bind(&p.chat_id)
    .bind(&p.wa_id)
    .bind(&p.creator)
    .bind(&p.name)
    .bind(serde_json::to_string(&p.options).unwrap_or_else(|_| "[]".into()))
    .bind(i64::from(p.selectable_count))
    .bind(p.secret.as_ref().map(hex::encode))
    .bind(wagate_core::now_ms())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

async fn get_poll(
    conn: &mut AnyConnection,
    session_id: &str,
    wa_id: &str,
) -> Result<Option<PollRecord>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM polls WHERE session_id = $1 AND wa_id = $2
         ORDER BY created_at DESC LIMIT 1"
    )))
    .bind(session_id)
    .bind(wa_id)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let count: i64 = r.try_get("selectable_count")?;
    let secret: Option<String> = r.try_get("secret")?;
    Ok(Some(PollRecord {
        poll: NewPoll {
            session_id: r.try_get("session_id")?,
            chat_id: r.try_get("chat_id")?,
            wa_id: r.try_get("wa_id")?,
            creator: r.try_get("creator")?,
            name: r.try_get("name")?,
            options: json_list(r.try_get("options")?)?,
            selectable_count: u32::try_from(count.max(0)).unwrap_or(u32::MAX),
            secret: secret.and_then(|s| hex::decode(s).ok()),
        },
        created_at: r.try_get("created_at")?,
    }))
}

async fn record_poll_vote(
    conn: &mut AnyConnection,
    session_id: &str,
    chat_id: &str,
    poll_id: &str,
    vote: &PollVote,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO poll_votes (session_id, chat_id, poll_id, voter, selected, voted_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (session_id, chat_id, poll_id, voter)
         DO UPDATE SET selected = excluded.selected, voted_at = excluded.voted_at
         WHERE poll_votes.voted_at < excluded.voted_at",
    )
    .bind(session_id)
    .bind(chat_id)
    .bind(poll_id)
    .bind(&vote.voter)
    .bind(serde_json::to_string(&vote.selected).unwrap_or_else(|_| "[]".into()))
    .bind(vote.voted_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A JSON list of strings, as the columns keep them.
fn json_list(raw: String) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(&raw).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A received poll, kept by its message's spine unit (`events/unit.rs`).
impl crate::app::SpineUnit {
    /// After the gate: see [`Store::insert_poll`].
    pub fn insert_poll(&mut self, p: &NewPoll) -> Result<(), StoreError> {
        self.then(|gate| {
            // `WHERE` before `ON CONFLICT`: an insert from a `SELECT`
            // needs one there (SQLite's parsing of upserts).
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO polls (session_id, chat_id, wa_id, creator, name, options,
                                    selectable_count, secret, created_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE {gate}
                 ON CONFLICT (session_id, chat_id, wa_id) DO NOTHING"
            )))
            .bind(p.session_id.clone())
            .bind(p.chat_id.clone())
            .bind(p.wa_id.clone())
            .bind(p.creator.clone())
            .bind(p.name.clone())
            .bind(serde_json::to_string(&p.options).unwrap_or_else(|_| "[]".into()))
            .bind(i64::from(p.selectable_count))
            .bind(p.secret.as_ref().map(hex::encode))
            .bind(wagate_core::now_ms())
        })
    }
}

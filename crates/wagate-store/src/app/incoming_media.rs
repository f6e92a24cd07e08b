//! Received media waiting to be downloaded (`incoming_media`): one row per
//! received message whose file is not stored yet. The message itself is
//! stored at once (its media fields naming the file it will have); a worker
//! claims due rows, downloads, and settles: the message's media gets its
//! real size and type, or loses its media fields when the file was refused.
//! Rows survive a restart, so a crash mid-download only delays the file.

use sqlx::Row;

use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingMediaJob {
    pub session_id: String,
    pub wa_id: String,
    pub chat_id: String,
    pub file_id: String,
    pub path: String,
    /// What the download needs (JSON, owned by the engine).
    pub source: String,
    pub attempts: i64,
    pub next_at: i64,
    pub created_at: i64,
}

const COLUMNS: &str =
    "session_id, wa_id, chat_id, file_id, path, source, attempts, next_at, created_at";

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<IncomingMediaJob, sqlx::Error> {
    Ok(IncomingMediaJob {
        session_id: r.try_get("session_id")?,
        wa_id: r.try_get("wa_id")?,
        chat_id: r.try_get("chat_id")?,
        file_id: r.try_get("file_id")?,
        path: r.try_get("path")?,
        source: r.try_get("source")?,
        attempts: r.try_get("attempts")?,
        next_at: r.try_get("next_at")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Records a download to do; a second one for the same message keeps
    /// the first (a redelivered message gets the same file id). Returns the
    /// job as stored.
    pub async fn add_incoming_media(
        &self,
        job: &IncomingMediaJob,
    ) -> Result<IncomingMediaJob, StoreError> {
        sqlx::query(
            "INSERT INTO incoming_media (session_id, wa_id, chat_id, file_id, path, source, attempts, next_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (session_id, wa_id) DO NOTHING",
        )
        .bind(&job.session_id)
        .bind(&job.wa_id)
        .bind(&job.chat_id)
        .bind(&job.file_id)
        .bind(&job.path)
        .bind(&job.source)
        .bind(job.attempts)
        .bind(job.next_at)
        .bind(job.created_at)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM incoming_media WHERE session_id = $1 AND wa_id = $2"
        )))
        .bind(&job.session_id)
        .bind(&job.wa_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(job_from_row(&row)?)
    }

    /// Downloads due at `now_ms`, oldest first.
    pub async fn due_incoming_media(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<IncomingMediaJob>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM incoming_media WHERE next_at <= $1 ORDER BY next_at, created_at LIMIT $2"
        )))
        .bind(now_ms)
        .bind(limit.clamp(1, 1000) as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(job_from_row)
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Puts a download off until `next_at`, counting `attempts` so far.
    pub async fn postpone_incoming_media(
        &self,
        session_id: &str,
        wa_id: &str,
        attempts: i64,
        next_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE incoming_media SET attempts = $3, next_at = $4 WHERE session_id = $1 AND wa_id = $2",
        )
        .bind(session_id)
        .bind(wa_id)
        .bind(attempts)
        .bind(next_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a settled download.
    pub async fn remove_incoming_media(
        &self,
        session_id: &str,
        wa_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM incoming_media WHERE session_id = $1 AND wa_id = $2")
            .bind(session_id)
            .bind(wa_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The stored file's real type and size, once it is kept.
    pub async fn set_message_media_stored(
        &self,
        session_id: &str,
        file_id: &str,
        mimetype: &str,
        size: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE messages SET media_mimetype = $3, media_size = $4
             WHERE session_id = $1 AND media_file_id = $2",
        )
        .bind(session_id)
        .bind(file_id)
        .bind(mimetype)
        .bind(size)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Drops a message's media fields: its file was refused or never came.
    pub async fn clear_message_media(
        &self,
        session_id: &str,
        file_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE messages SET media_file_id = NULL, media_mimetype = NULL, media_filename = NULL,
                                 media_size = NULL, media_path = NULL
             WHERE session_id = $1 AND media_file_id = $2",
        )
        .bind(session_id)
        .bind(file_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

//! The sender's side of the queue: what a session has waiting, taking the
//! next due message, settling it (`sent`, `failed`, back to `queued`), the
//! send times the rate caps count, and start-up recovery of interrupted
//! sends.

use sqlx::{AssertSqlSafe, Row};

use super::record::{COLUMNS, LaneBacklog, QueueTurn, queued_from_row};
use crate::app::wire;
use crate::{Store, StoreError};

impl Store {
    /// What a session has waiting, per lane.
    pub async fn queue_backlog(&self, session_id: &str) -> Result<Vec<LaneBacklog>, StoreError> {
        let rows = sqlx::query(LANE_BACKLOG)
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(backlog_from_row)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// A dispatcher's look at its session, in one read: what each lane has
    /// waiting (as [`Store::queue_backlog`]) and each lane's first message
    /// that may go at `now`, the oldest first (FIFO). The dispatcher picks
    /// a lane from the first and sends that lane's row from the second, so
    /// a message costs one read here instead of two.
    pub async fn queue_turn(&self, session_id: &str, now: i64) -> Result<QueueTurn, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(queue_turn_sql()))
            .bind(session_id)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        let mut turn = QueueTurn::default();
        for r in &rows {
            turn.backlog.push(backlog_from_row(r)?);
            // The left join's row is all NULL when nothing of the lane is
            // due yet.
            if r.try_get::<Option<String>, _>("id")?.is_some() {
                turn.due.push(queued_from_row(r)?);
            }
        }
        Ok(turn)
    }

    /// How many of a session's messages are being sent right now.
    pub async fn queue_sending(&self, session_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM send_queue WHERE session_id = $1 AND status = 'sending'",
        )
        .bind(session_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Takes a queued message for sending (counts an attempt); false when it
    /// is no longer queued (cancelled meanwhile) or, with a `fence`, when
    /// this node no longer holds the session's lease.
    ///
    /// Bookkeeping only, so it does not wait for a sync: a claim a power cut
    /// takes back leaves the message queued, to be sent again under its own
    /// id, as an interrupted send is after a crash. The send's own record
    /// (`record_outgoing`) waits for a sync that covers the claim too.
    pub async fn claim_queued(
        &self,
        id: &str,
        fence: Option<&crate::app::cluster::Fence>,
    ) -> Result<bool, StoreError> {
        let claim = match fence {
            None => sqlx::query(
                "UPDATE send_queue SET status = 'sending', attempts = attempts + 1, updated_at = $2
                     WHERE id = $1 AND status = 'queued'",
            )
            .bind(id)
            .bind(wagate_core::now_ms()),
            Some(fence) => sqlx::query(
                "UPDATE send_queue SET status = 'sending', attempts = attempts + 1, updated_at = $2
                     WHERE id = $1 AND status = 'queued' AND EXISTS (
                       SELECT 1 FROM session_leases l WHERE l.session_id = send_queue.session_id
                          AND l.node_id = $3 AND l.generation = $4)",
            )
            .bind(id)
            .bind(wagate_core::now_ms())
            .bind(&fence.node_id)
            .bind(fence.generation),
        };
        let done = self.execute_write(claim).await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn mark_queued_sent(&self, id: &str, sent_at: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.mark_queued_sent(id, sent_at).await?;
        tx.commit().await
    }

    pub async fn mark_queued_failed(
        &self,
        id: &str,
        code: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.mark_queued_failed(id, code, message).await?;
        tx.commit().await
    }

    /// Puts a message back in the queue to try again at `not_before`. With
    /// `refund`, the attempt it just used is not counted (the session was not
    /// connected: nothing was tried).
    pub async fn requeue(
        &self,
        id: &str,
        not_before: i64,
        error: Option<(&str, &str)>,
        refund: bool,
    ) -> Result<(), StoreError> {
        let refund = if refund {
            ", attempts = attempts - 1"
        } else {
            ""
        };
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE send_queue SET status = 'queued', not_before = $2, error_code = $3,
             error_message = $4, updated_at = $5{refund} WHERE id = $1 AND status = 'sending'"
        )))
        .bind(id)
        .bind(not_before)
        .bind(error.map(|e| e.0))
        .bind(error.map(|e| e.1))
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What was being sent when its sender stopped goes back to the queue
    /// (the next sender resends it under the same WhatsApp id): at
    /// start-up every session's (`None`), or one session's when a cluster
    /// node takes it over. Returns how many.
    pub async fn requeue_interrupted(&self, session_id: Option<&str>) -> Result<u64, StoreError> {
        let of_session = if session_id.is_some() {
            " AND session_id = $2"
        } else {
            ""
        };
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE send_queue SET status = 'queued', updated_at = $1
              WHERE status = 'sending'{of_session}"
        )))
        .bind(wagate_core::now_ms());
        let done = match session_id {
            Some(id) => done.bind(id),
            None => done,
        }
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Sessions with messages waiting.
    pub async fn sessions_with_queue(&self) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT DISTINCT session_id FROM send_queue WHERE status = 'queued'")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| r.try_get("session_id").map_err(Into::into))
            .collect()
    }

    /// When a session's messages were sent since `since` (oldest first): what
    /// the per-minute, per-hour and per-day caps count.
    pub async fn sent_times_since(
        &self,
        session_id: &str,
        since: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT sent_at FROM send_queue WHERE session_id = $1 AND sent_at >= $2 ORDER BY sent_at",
        )
        .bind(session_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("sent_at").map_err(Into::into))
            .collect()
    }
}

/// Queue changes that commit with their event (`message.failed`) or their
/// message (`message.sent`: the send and its queue row settle in one commit).
impl crate::app::SpineTx {
    /// Marks a queued message sent at `sent_at`.
    pub async fn mark_queued_sent(&mut self, id: &str, sent_at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE send_queue SET status = 'sent', sent_at = $2, updated_at = $2,
             error_code = NULL, error_message = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(sent_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks a queued message failed for good; returns whether it was still
    /// queued or sending (a second settle changes nothing).
    pub async fn mark_queued_failed(
        &mut self,
        id: &str,
        code: &str,
        message: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE send_queue SET status = 'failed', error_code = $2, error_message = $3, updated_at = $4
             WHERE id = $1 AND status IN ('queued', 'sending')",
        )
        .bind(id)
        .bind(code)
        .bind(message)
        .bind(wagate_core::now_ms())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// The queue row of a sent message, settled by its spine unit
/// (`events/unit.rs`): the message, its `message.sent` and its row commit
/// together.
impl crate::app::SpineUnit {
    /// After the gate: see [`crate::app::SpineTx::mark_queued_sent`].
    pub fn mark_queued_sent(&mut self, id: &str, sent_at: i64) -> Result<(), StoreError> {
        self.then(|gate| {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE send_queue SET status = 'sent', sent_at = $2, updated_at = $2,
                 error_code = NULL, error_message = NULL WHERE id = $1 AND {gate}"
            )))
            .bind(id.to_string())
            .bind(sent_at)
        })
    }
}

/// What a session (`$1`) has waiting, per lane: [`Store::queue_backlog`]'s
/// statement, and the first half of [`Store::queue_turn`]'s. Its columns
/// are named apart from the queue row's, which the turn reads beside them.
const LANE_BACKLOG: &str = "SELECT lane AS backlog_lane, COUNT(*) AS backlog_n, \
     MIN(not_before) AS backlog_earliest FROM send_queue \
     WHERE session_id = $1 AND status = 'queued' GROUP BY lane";

/// A row of [`LANE_BACKLOG`].
fn backlog_from_row(r: &sqlx::any::AnyRow) -> Result<LaneBacklog, sqlx::Error> {
    Ok(LaneBacklog {
        lane: wire(r, "backlog_lane")?,
        count: r.try_get("backlog_n")?,
        earliest: r.try_get("backlog_earliest")?,
    })
}

/// [`Store::queue_turn`]'s statement: the backlog per lane, each with its
/// first due row. The `send_queue_next` index is in sending order, so that
/// row is its first due entry however long the backlog is.
fn queue_turn_sql() -> String {
    let row = COLUMNS
        .split(", ")
        .map(|c| format!("q.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT b.backlog_lane, b.backlog_n, b.backlog_earliest, {row}
         FROM ({LANE_BACKLOG}) b
         LEFT JOIN send_queue q ON q.id = (
           SELECT d.id FROM send_queue d
            WHERE d.session_id = $1 AND d.status = 'queued' AND d.lane = b.backlog_lane
              AND d.not_before <= $2
            ORDER BY d.created_at, d.batch_seq, d.id LIMIT 1)"
    )
}

#[cfg(test)]
mod tests {
    use wagate_core::{Lane, MessageKind};

    use super::queue_turn_sql;
    use crate::app::NewQueued;

    fn queued(id: &str, lane: Lane, not_before: i64) -> NewQueued {
        NewQueued {
            id: id.into(),
            tenant_id: "t1".into(),
            session_id: "s1".into(),
            wa_id: format!("wa-{id}"),
            chat_id: "628111@s.whatsapp.net".into(),
            kind: MessageKind::Text,
            payload: "{}".into(),
            lane,
            not_before,
            batch_id: None,
            batch_seq: None,
            idempotency_key: None,
            request_hash: None,
        }
    }

    /// A backlog on a SQLite file: a dispatcher's turn sees each lane's
    /// backlog and its oldest message that may go, and the database finds
    /// them by the index, without sorting the backlog.
    #[tokio::test]
    async fn a_turn_finds_each_lanes_oldest_due_message_by_the_index() {
        // Step 1: a store on a SQLite file.
        let dir = tempfile::tempdir().unwrap();
        let store = crate::db::tests::group_commit_store(&dir).await;
        let now = wagate_core::now_ms();

        // Step 2: a backlog in one session: a direct message held for an
        // hour first, then 20 due ones, and a drip message.
        store
            .enqueue(&queued("q00", Lane::Direct, now + 3_600_000))
            .await
            .unwrap();
        for i in 1..=20 {
            store
                .enqueue(&queued(&format!("q{i:02}"), Lane::Direct, 0))
                .await
                .unwrap();
        }
        store.enqueue(&queued("d01", Lane::Drip, 0)).await.unwrap();

        // Then: the backlog counts every queued message of each lane, and
        // the direct lane's next message is the oldest due one (the held
        // one waits); the drip lane's is its own.
        let turn = || store.queue_turn("s1", wagate_core::now_ms());
        let mut t = turn().await.unwrap();
        let direct = t.backlog.iter().find(|b| b.lane == Lane::Direct).unwrap();
        assert_eq!((direct.count, direct.earliest), (21, 0));
        let drip = t.backlog.iter().find(|b| b.lane == Lane::Drip).unwrap();
        assert_eq!(drip.count, 1);
        assert_eq!(t.take_due(Lane::Direct).unwrap().id, "q01");
        assert_eq!(t.take_due(Lane::Drip).unwrap().id, "d01");
        assert!(t.take_due(Lane::Direct).is_none(), "one per lane");

        // Step 3: take q01 for sending; the next is q02.
        assert!(store.claim_queued("q01", None).await.unwrap());
        let mut t = turn().await.unwrap();
        assert_eq!(t.take_due(Lane::Direct).unwrap().id, "q02");

        // Step 4: only the held message is left of the direct lane: it is
        // counted, and nothing of the lane is due.
        for i in 2..=20 {
            assert!(store.cancel_queued(&format!("q{i:02}")).await.unwrap());
        }
        let mut t = turn().await.unwrap();
        let direct = t.backlog.iter().find(|b| b.lane == Lane::Direct).unwrap();
        assert_eq!((direct.count, direct.earliest), (1, now + 3_600_000));
        assert!(t.take_due(Lane::Direct).is_none());
        assert_eq!(t.take_due(Lane::Drip).unwrap().id, "d01");

        // And: SQLite answers from `send_queue_next` in its order: no
        // temporary B-tree sorts the backlog for each message.
        let plan = explain(&store).await;
        assert!(
            plan.iter().any(|d| d.contains("send_queue_next")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "{plan:?}");
    }

    /// A waiting caller is answered with the row as the dispatcher knows
    /// it, not read back: it must be the row as the database has it.
    #[tokio::test]
    async fn a_sent_row_as_known_in_memory_is_the_row_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::db::tests::group_commit_store(&dir).await;
        // Step 1: a message queued, failed once (an error on its row), and
        // queued again: what the dispatcher reads before its claim.
        store
            .enqueue(&queued("q01", Lane::Direct, 0))
            .await
            .unwrap();
        assert!(store.claim_queued("q01", None).await.unwrap());
        store
            .requeue("q01", 0, Some(("SEND_FAILED", "once")), false)
            .await
            .unwrap();
        let mut t = store.queue_turn("s1", wagate_core::now_ms()).await.unwrap();
        let before = t.take_due(Lane::Direct).unwrap();
        assert_eq!(before.error_code.as_deref(), Some("SEND_FAILED"));

        // Step 2: claimed and marked sent.
        assert!(store.claim_queued("q01", None).await.unwrap());
        let sent_at = wagate_core::now_ms() + 5;
        store.mark_queued_sent("q01", sent_at).await.unwrap();

        // Then: the row in memory is the stored one.
        let stored = store.get_queued("q01").await.unwrap().unwrap();
        assert_eq!(before.as_sent(sent_at), stored);
    }

    /// `EXPLAIN QUERY PLAN`'s details for [`queue_turn_sql`].
    async fn explain(store: &crate::Store) -> Vec<String> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {}",
            queue_turn_sql()
        )))
        .bind("s1")
        .bind(0i64)
        .fetch_all(&store.pool)
        .await
        .unwrap();
        rows.iter()
            .map(|r| sqlx::Row::try_get::<String, _>(r, "detail").unwrap())
            .collect()
    }
}

#![cfg(test)]
//! Unit tests of the outbox database: dialect SQL, filters, URLs, and a
//! whole claim cycle on SQLite.

use std::time::Duration;

use super::connect::driver_url;
use super::*;

#[test]
fn placeholders() {
    assert_eq!(Dialect::MySql.phs(1, 3), "?, ?, ?");
    assert_eq!(Dialect::Postgres.phs(2, 2), "$2, $3");
    assert_eq!(Dialect::Sqlite.ph(4), "$4");
}

#[test]
fn filters() {
    assert_eq!(AppFilter::parse("*"), AppFilter::All);
    assert_eq!(AppFilter::parse(" , "), AppFilter::All);
    assert_eq!(
        AppFilter::parse("App1, App2"),
        AppFilter::Only(vec!["App1".into(), "App2".into()])
    );
    assert_eq!(AppFilter::parse("App1,*"), AppFilter::All);
}

#[test]
fn urls() {
    assert_eq!(
        driver_url("mariadb://root@h/x").unwrap(),
        (Dialect::MySql, "mysql://root@h/x".to_string())
    );
    assert_eq!(driver_url("postgres://h/x").unwrap().0, Dialect::Postgres);
    assert!(driver_url("redis://x").is_err());
    assert!(!redact("mysql://u:secret@h/x").contains("secret"));
    assert!(valid_identifier("outbox"));
    assert!(!valid_identifier("outbox; DROP"));
}

#[tokio::test]
async fn sqlite_claims_fifo_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/o.db", dir.path().display());
    let db = OutboxDb::connect(&url, "outbox", 2).await.unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    for (i, app) in ["A", "B", "A"].iter().enumerate() {
        db.insert(&NewRow {
            destination: format!("62800{i}"),
            messages: Some(format!("m{i}")),
            application: Some(app.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let only_a = AppFilter::parse("A");
    let Claim::Row { row, session } = db
        .claim(&only_a, "w1", &[], |_| Some("s1".into()))
        .await
        .unwrap()
    else {
        panic!("a row")
    };
    assert_eq!(
        (row.destination.as_str(), session.as_str()),
        ("628000", "s1")
    );
    assert!(db.mark_sent(row.id, "w1", Some("mid")).await.unwrap());
    // No session: the row stays pending.
    assert!(matches!(
        db.claim(&only_a, "w1", &[], |_| None).await.unwrap(),
        Claim::NoSession
    ));
    let Claim::Row { row, .. } = db
        .claim(&only_a, "w1", &[], |_| Some("s1".into()))
        .await
        .unwrap()
    else {
        panic!("a row")
    };
    assert_eq!(row.destination, "628002");
    assert_eq!(row.session_id, None);
    assert_eq!(db.mark_retry(row.id, "w1", "x", 2).await.unwrap(), 0);
    let Claim::Row { row, .. } = db
        .claim(&only_a, "w1", &[], |r| r.session_id.clone())
        .await
        .unwrap()
    else {
        panic!("the retried row")
    };
    assert_eq!(row.session_id.as_deref(), Some("s1"));
    assert_eq!(db.mark_retry(row.id, "w1", "x", 2).await.unwrap(), 2);
    assert!(matches!(
        db.claim(&only_a, "w1", &[], |_| Some("s".into()))
            .await
            .unwrap(),
        Claim::Empty
    ));
    // A stale claim comes back.
    let all = AppFilter::All;
    let Claim::Row { row, .. } = db
        .claim(&all, "w2", &[], |_| Some("s".into()))
        .await
        .unwrap()
    else {
        panic!("B")
    };
    assert_eq!(row.application.as_deref(), Some("B"));
    assert_eq!(
        db.reclaim_stale(Duration::from_secs(3600)).await.unwrap(),
        0
    );
    sqlx::query("UPDATE outbox SET claimedDateTime = '2000-01-01 00:00:00.000'")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(db.reclaim_stale(Duration::from_secs(60)).await.unwrap(), 1);
    assert_eq!(db.status_of(row.id).await.unwrap(), Some(STATUS_PENDING));
}

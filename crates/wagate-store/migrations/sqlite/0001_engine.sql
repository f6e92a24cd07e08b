-- whatsapp-rust engine state (wacore::store::traits::Backend), SQLite flavour.
--
-- One database holds any number of linked devices: every row carries the
-- `device_id` of its wa_devices row, and every primary key starts with it so
-- per-device lookups and the per-device wipe are index range scans.
-- Integers are INTEGER (64-bit), timestamps are unix seconds unless the column
-- name ends in _ms, binary values are BLOB. Keep this file in step with
-- migrations/postgres/0001_engine.sql.

CREATE TABLE wa_devices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL
);

-- The persisted wacore::store::Device (one row per device, written by
-- DeviceStore::save). Column for column what whatsapp-rust-sqlite-storage keeps.
CREATE TABLE wa_device_data (
    device_id                       INTEGER NOT NULL PRIMARY KEY REFERENCES wa_devices (id) ON DELETE CASCADE,
    lid                             TEXT    NOT NULL,
    pn                              TEXT    NOT NULL,
    registration_id                 INTEGER NOT NULL,
    noise_key                       BLOB    NOT NULL,
    identity_key                    BLOB    NOT NULL,
    signed_pre_key                  BLOB    NOT NULL,
    signed_pre_key_id               INTEGER NOT NULL,
    signed_pre_key_signature        BLOB    NOT NULL,
    adv_secret_key                  BLOB    NOT NULL,
    account                         BLOB,
    push_name                       TEXT    NOT NULL,
    app_version_primary             INTEGER NOT NULL,
    app_version_secondary           INTEGER NOT NULL,
    app_version_tertiary            INTEGER NOT NULL,
    app_version_last_fetched_ms     INTEGER NOT NULL,
    edge_routing_info               BLOB,
    props_hash                      TEXT,
    next_pre_key_id                 INTEGER NOT NULL,
    first_unupload_pre_key_id       INTEGER NOT NULL,
    server_has_prekeys              INTEGER NOT NULL,
    nct_salt                        BLOB,
    server_cert_chain               BLOB,
    login_counter                   INTEGER NOT NULL,
    lid_migrated                    INTEGER NOT NULL,
    last_signed_pre_key_rotation_ms INTEGER NOT NULL,
    read_receipts_disabled          INTEGER NOT NULL,
    updated_at                      INTEGER NOT NULL
);

-- Signal protocol ----------------------------------------------------------

CREATE TABLE wa_identities (
    device_id INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    address   TEXT    NOT NULL,
    key       BLOB    NOT NULL,
    PRIMARY KEY (device_id, address)
);

CREATE TABLE wa_sessions (
    device_id INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    address   TEXT    NOT NULL,
    record    BLOB    NOT NULL,
    PRIMARY KEY (device_id, address)
);

CREATE TABLE wa_prekeys (
    device_id INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    id        INTEGER NOT NULL,
    record    BLOB    NOT NULL,
    uploaded  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, id)
);

CREATE TABLE wa_signed_prekeys (
    device_id INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    id        INTEGER NOT NULL,
    record    BLOB    NOT NULL,
    PRIMARY KEY (device_id, id)
);

CREATE TABLE wa_sender_keys (
    device_id INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    address   TEXT    NOT NULL,
    record    BLOB    NOT NULL,
    PRIMARY KEY (device_id, address)
);

-- App state sync -----------------------------------------------------------

CREATE TABLE wa_app_state_keys (
    device_id INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    key_id    BLOB    NOT NULL,
    key_data  BLOB    NOT NULL,
    PRIMARY KEY (device_id, key_id)
);

CREATE TABLE wa_app_state_versions (
    device_id  INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    state_data BLOB    NOT NULL,
    PRIMARY KEY (device_id, name)
);

CREATE TABLE wa_app_state_mutation_macs (
    device_id INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL,
    index_mac BLOB    NOT NULL,
    version   INTEGER NOT NULL,
    value_mac BLOB    NOT NULL,
    PRIMARY KEY (device_id, name, index_mac)
);

-- Protocol bookkeeping -----------------------------------------------------

CREATE TABLE wa_sender_key_devices (
    device_id  INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    group_jid  TEXT    NOT NULL,
    device_jid TEXT    NOT NULL,
    has_key    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, group_jid, device_jid)
);
CREATE INDEX wa_sender_key_devices_by_device_jid ON wa_sender_key_devices (device_id, device_jid);

CREATE TABLE wa_lid_pn_mappings (
    device_id       INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    lid             TEXT    NOT NULL,
    phone_number    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    learning_source TEXT    NOT NULL,
    PRIMARY KEY (device_id, lid)
);
CREATE INDEX wa_lid_pn_mappings_by_pn ON wa_lid_pn_mappings (device_id, phone_number, updated_at);

CREATE TABLE wa_base_keys (
    device_id  INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    address    TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    base_key   BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, address, message_id)
);

CREATE TABLE wa_device_lists (
    device_id    INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    user_id      TEXT    NOT NULL,
    devices_json TEXT    NOT NULL,
    timestamp    INTEGER NOT NULL,
    phash        TEXT,
    raw_id       INTEGER,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (device_id, user_id)
);

CREATE TABLE wa_group_metadata (
    device_id  INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    group_jid  TEXT    NOT NULL,
    info       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, group_jid)
);

CREATE TABLE wa_tc_tokens (
    device_id        INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    jid              TEXT    NOT NULL,
    token            BLOB    NOT NULL,
    token_timestamp  INTEGER NOT NULL,
    sender_timestamp INTEGER,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (device_id, jid)
);

CREATE TABLE wa_sent_messages (
    device_id  INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    chat_jid   TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, chat_jid, message_id)
);
CREATE INDEX wa_sent_messages_by_age ON wa_sent_messages (device_id, created_at);

CREATE TABLE wa_pending_inbound (
    device_id   INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    chat        TEXT    NOT NULL,
    sender      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    message     BLOB    NOT NULL,
    inserted_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, chat, sender, id)
);
CREATE INDEX wa_pending_inbound_by_age ON wa_pending_inbound (device_id, inserted_at);

-- Message secrets ----------------------------------------------------------

CREATE TABLE wa_msg_secrets (
    device_id  INTEGER NOT NULL REFERENCES wa_devices (id) ON DELETE CASCADE,
    chat       TEXT    NOT NULL,
    sender     TEXT    NOT NULL,
    msg_id     TEXT    NOT NULL,
    secret     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    message_ts INTEGER NOT NULL,
    PRIMARY KEY (device_id, chat, sender, msg_id)
);
CREATE INDEX wa_msg_secrets_by_expiry ON wa_msg_secrets (device_id, expires_at);

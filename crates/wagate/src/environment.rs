//! The environment variables `wagate serve` reads besides its flags: the
//! feature settings each layer parses at start-up (`from_lookup`: media,
//! send queue, pacing, webhooks, rate limits, warming, AI, S3, outbound).
//! Listed here once so `wagate serve --help` names every variable the
//! README's tables name (a test holds the two together).

/// Shown after `wagate serve --help`'s flags.
pub const SERVE_ENVIRONMENT: &str = r#"Also read from the environment (or .env); the README says more of each:

  SQLITE_SYNCHRONOUS [default: full]
      SQLite durability: full makes every commit (a message acked to WhatsApp, an event, a queue row) survive a p…
  MAX_FILE_SIZE_IMAGE_MB [default: 5]
      Largest image sent (MESSAGE_MEDIA_TOO_LARGE 413 beyond)
  MAX_FILE_SIZE_VIDEO_MB [default: 16]
      Largest video sent
  MAX_FILE_SIZE_AUDIO_MB [default: 16]
      Largest audio or voice note sent
  MAX_FILE_SIZE_DOCUMENT_MB [default: 100]
      Largest document sent
  VALIDATE_RECIPIENTS [default: true]
      Check that a phone-number recipient is on WhatsApp before sending (MESSAGE_NUMBER_NOT_ON_WHATSAPP 400)
  RECONNECT_CONCURRENCY / RECONNECT_JITTER_MS [default: 256, 250]
      Connect pacing when many sessions come back at once: most connecting at a time; first wave spread over 0–N ms
  TYPING_DELAY_MIN / TYPING_DELAY_MAX [default: 1, 3]
      Bounds, in seconds, of the composing shown before a send with options.simulateTyping: true: it grows with t…
  DEVICE_OS / DEVICE_NAME [default: random OS, (the OS)]
      What a new session's linked device is called on the phone (Linked Devices) when the create request has no d…
  SESSION_REJECT_CALLS / SESSION_CALL_REJECT_MESSAGE [default: false, (none)]
      Defaults of a session's settings.rejectCalls (reject every incoming call) and callRejectMessage (text to the caller)
  SESSION_ALWAYS_ONLINE / SESSION_AUTO_READ [default: false, false]
      Defaults of settings.alwaysOnline (say "available" on connect and every minute) and autoRead (mark incoming read)
  SESSION_IGNORE_GROUPS / SESSION_IGNORE_BROADCASTS / SESSION_IGNORE_STATUS / SESSION_IGNORE_CHANNELS [default: false, false, true, false]
      Defaults of settings.ignore.*: incoming messages of such chats are neither stored nor emitted (statuses: status.received)
  MEDIA_DIR [default: $DATA_DIR/media]
      Where sent and received media files are kept (<session>/<file id>.<ext>) with MEDIA_STORAGE=local
  MEDIA_STORAGE [default: local]
      local (files under MEDIA_DIR) or s3 (objects in an S3-compatible bucket, key $S3_PREFIX/<session>/<file id>…
  S3_ENDPOINT [default: (AWS)]
      An S3-compatible server, e.g. http://127.0.0.1:9000 (MinIO)
  S3_REGION [default: us-east-1]
      The bucket's region (signing region)
  S3_BUCKET [default: (required for s3)]
      The bucket
  S3_PREFIX
      A key prefix, e.g. wagate/media
  S3_ACCESS_KEY_ID
      Access key
  S3_SECRET_ACCESS_KEY
      Secret key (set both or neither)
  S3_FORCE_PATH_STYLE [default: true with S3_ENDPOINT, else false]
      Path-style URLs (endpoint/bucket/key) instead of virtual-hosted (bucket.endpoint/key)
  INCOMING_MEDIA_MAX_MB [default: the MAX_FILE_SIZE_*_MB of the file's type]
      Largest received file kept
  INCOMING_MEDIA_WORKERS [default: 2]
      Received files downloaded at once (1–64)
  OUTBOUND_ALLOW_PRIVATE [default: false]
      Let tenant-chosen URLs (media URLs, webhook URLs, outbox files and status webhooks) reach loopback, private…
  OUTBOUND_ALLOW_HOSTS
      Comma list of host names (hooks.internal, *.corp.example), IPs and CIDRs (10.1.0.0/16) tenant-chosen URLs m…
  PROXY_URL
      Proxy (socks5://user:pass@host:port, socks5h://…, http://…) for the WhatsApp WebSocket and media of sessions with no proxy of their own or from PROXY_POOL
  PROXY_POOL
      Comma list of proxy URLs handed out round-robin to new sessions with no proxy of their own; each keeps its entry across restarts
  RUST_LOG [default: info]
      Log filter (tracing syntax)
  LOG_FORMAT [default: text]
      text, or json: one JSON object a line, with the request's span
  WEBHOOK_EVENTS [default: *]
      Comma list of events for the global webhook (message.* works)
  WEBHOOK_RETRY_SCHEDULE [default: 5s,30s,2m,10m,30m,1h,2h,4h]
      Waits between attempts (±20% jitter
  WEBHOOK_DISABLE_AFTER_SECS [default: 86400]
      An endpoint failing continuously this long is disabled (and webhook.disabled is emitted)
  WEBHOOK_TIMEOUT_SECS [default: 10]
      Timeout of one delivery request
  WEBHOOK_MAX_PER_SESSION [default: 10]
      Webhooks per session (WEBHOOK_LIMIT_REACHED beyond)
  RATE_LIMIT_ENABLED [default: true]
      API rate limiting per tenant and per minute, with X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Res…
  RATE_LIMIT_SESSION_PER_MIN [default: 10]
      Session management: creating, updating, deleting sessions, start/stop/restart/logout/pair-code, tenant admi…
  RATE_LIMIT_SEND_PER_MIN [default: 60]
      Sending: every non-GET under …/messages/ (send-*, react, edit, revoke, delete), groups, presence, chat stat…
  RATE_LIMIT_READ_PER_MIN [default: 120]
      Reads: every GET (and POST …/contacts/check)
  RATE_LIMIT_WEBHOOK_PER_MIN [default: 10]
      Webhook management: creating, updating, deleting webhooks, redeliver, replay
  RATE_LIMIT_ADMIN [default: false]
      Count the admin key (API_KEY) too, as the admin tenant
  SEND_DRIP_PER_MINUTE [default: 3]
      Pace of the drip lane: ?async=true sends not marked urgent (seed 003's drip mode)
  SEND_MIN_INTERVAL_MS / SEND_JITTER_MS [default: 0, 0]
      Least time between two sends of one session, plus a random 0..jitter each time (every lane)
  SEND_MAX_PER_MINUTE / SEND_MAX_PER_HOUR / SEND_MAX_PER_DAY [default: 0 (no cap)]
      Hard caps per session, every lane (urgent sends too)
  SEND_QUIET_HOURS / SEND_QUIET_HOURS_UTC_OFFSET [default: (none), +00:00]
      e.g. 22:00-07:00: bulk and drip traffic waits until the window ends
  SEND_RETRY_SCHEDULE [default: 2s,10s,1m]
      Waits before retrying a send that failed for a transient reason (network, engine), as durations (250ms, 5s,…
  IDEMPOTENCY_TTL_HOURS [default: 24]
      How long an Idempotency-Key is remembered (at least 24)
  SEND_QUEUE_RETENTION_DAYS [default: 7]
      Finished queue rows (the per-message record behind queueId) are pruned after this (at least 1: the daily ca…
  WARMING_WORKER_ENABLED [default: false]
      Run the warming worker (rooms speak only where it runs)
  WARMING_WORKER_INTERVAL_SECONDS [default: 5]
      How often the worker looks for due rooms
  WARMING_AUTO_REPLY_ENABLED [default: false]
      The AI answers a person who writes to a session of a running human-vs-bot AI room
  WARMING_AUTO_REPLY_COOLDOWN [default: 60]
      Seconds: at most one auto-reply per room in this time
  DEFAULT_REPLY_DELAY_MIN / DEFAULT_REPLY_DELAY_MAX [default: 10 / 60]
      Seconds: an auto-reply waits a random time in this range
  AI_DEFAULT_PROVIDER [default: gemini]
      gemini or openai (any OpenAI-compatible API)
  AI_DEFAULT_TEMPERATURE / AI_DEFAULT_MAX_TOKENS [default: 0.7 / 150]
      Generation defaults
  AI_CONVERSATION_HISTORY_LIMIT [default: 10]
      Messages of a room's history sent with each AI request
  AI_REQUEST_TIMEOUT_SECONDS / AI_MAX_RETRIES / AI_MAX_CALLS_PER_HOUR [default: 30 / 2 / 120]
      Bounds on provider calls (per room per hour for the cap)
  OPENAI_API_KEY
      Key for the OpenAI-compatible API (never logged or returned)
  OPENAI_BASE_URL / OPENAI_DEFAULT_MODEL [default: https://api.openai.com/v1 / gpt-4o-mini]
      Point at a local server (Ollama, vLLM, …) to keep data on the machine
  GEMINI_API_KEY
      Google Gemini key (sent in a header, never in a URL, never logged)
  GEMINI_DEFAULT_MODEL / GEMINI_BASE_URL [default: gemini-1.5-flash / https://generativelanguage.googleapis.com]
      Gemini model and endpoint (the URL is for tests and proxies)
  EVENT_RETENTION_DAYS [default: 7]
      Events older than this are pruned hourly, never one an enabled webhook or output has not been given (0 keeps all)
  NATS_URL / NATS_STREAM / NATS_EVENTS [default: (none) / WAGATE / *]
      Publish every tenant's events to NATS JetStream: subject wagate.<tenant>.<session>.<event>, Nats-Msg-Id = idempotency key
  RABBITMQ_URL / RABBITMQ_EXCHANGE / RABBITMQ_EVENTS [default: (none) / wagate / *]
      Publish every tenant's events to a RabbitMQ topic exchange: routing key <tenant>.<session>.<event>, persistent, confirmed"#;

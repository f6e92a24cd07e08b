# syntax=docker/dockerfile:1
#
# wagate: one binary on distroless (glibc + libgcc, non-root).
#
#   docker build -t wagate .
#   docker run -d -p 2785:2785 -e API_KEY=... -v wagate-data:/data wagate
#
# See docs/deploy.md.

# ---------------------------------------------------------------------------
# Builder: the workspace needs Rust >= 1.94 (edition 2024).
# ---------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# No extra system packages: the only native code is ring and the bundled
# SQLite (libsqlite3-sys, built with cc), and the image already has gcc.
# TLS is rustls everywhere (no OpenSSL), no protoc is needed (waproto
# generates its code from a committed descriptor), and Swagger UI is
# vendored (nothing is downloaded at build time besides crates).

WORKDIR /work
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates

# The production build never enables the `sandbox` feature (it would accept
# the sandbox's certificate chain instead of WhatsApp's). `-p wagate` builds
# only the binary and its dependencies, so the test kit's features are not
# unified in. The binary is copied out of the cache mount in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/work/target \
    cargo build --release --locked -p wagate \
    && install -Dm755 /work/target/release/wagate /out/wagate

# The data directory, owned by distroless's `nonroot` user (65532), so a
# fresh named volume mounted at /data is writable.
RUN mkdir -p /data && chown 65532:65532 /data

# ---------------------------------------------------------------------------
# Runtime: glibc + libgcc, no shell, uid 65532.
# ---------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot

COPY --from=builder /out/wagate /usr/local/bin/wagate
COPY --from=builder --chown=65532:65532 /data /data

ENV DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=2785

VOLUME /data
EXPOSE 2785
USER nonroot:nonroot

# `wagate healthcheck` GETs http://127.0.0.1:$PORT/health and exits 0 on 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/wagate", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/wagate"]
CMD ["serve"]

# syntax=docker/dockerfile:1
# The image the Kubernetes Job runs (deploy/kubernetes/): span-sentinel built in the Rust image,
# copied into a small Debian runtime with the CA certificates TLS targets need.
#   docker build -t span-sentinel:latest .

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The dependency and build caches survive between builds; the binary is copied out of them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin span-sentinel \
    && cp target/release/span-sentinel /usr/local/bin/span-sentinel

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --no-create-home span-sentinel
COPY --from=build /usr/local/bin/span-sentinel /usr/local/bin/span-sentinel
COPY profiles /usr/share/span-sentinel/profiles
USER 10001:10001
ENTRYPOINT ["span-sentinel"]
CMD ["--help"]

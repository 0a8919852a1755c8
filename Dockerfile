# Trunkline images, one per service, from one Dockerfile (BuildKit, the
# default builder of Docker 23 and later; older: DOCKER_BUILDKIT=1):
#
#   docker build --target signaling -t trunkline/signaling:0.1.0 .
#   docker build --target routing   -t trunkline/routing:0.1.0 .
#   docker build --target media     -t trunkline/media:0.1.0 .
#   docker build --target sipp      -t trunkline/sipp:0.1.0 .   # test peer (docker-compose.yml)
#
# The builder is Debian 12 with every package of deploy/debian-packages.txt,
# exactly what `make deps` installs: nothing is vendored or downloaded. Each
# service is built alone (BuildKit builds only the stages a target needs).
# Each runtime image is debian:12-slim with only the Debian packages that own
# the binary's shared libraries (found by ldd, tools/deploy/runtime_packages.sh),
# the binary in /usr/local/bin, and the fixed non-root user 10001 the Helm
# chart runs it as (with a read-only root filesystem and no capabilities).

ARG DEBIAN_IMAGE=debian:12
ARG DEBIAN_SLIM_IMAGE=debian:12-slim

# --- build -------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS builder
ENV DEBIAN_FRONTEND=noninteractive
COPY deploy/debian-packages.txt /tmp/debian-packages.txt
RUN apt-get update \
 && sed -e 's/#.*//' /tmp/debian-packages.txt | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ENV CCACHE_DIR=/root/.cache/ccache
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DTRUNKLINE_BENCHMARKS=OFF -DTRUNKLINE_WITH_MEDIA=ON

# build-SERVICE: the binary, stripped, and the list of its runtime packages.
FROM builder AS build-signaling
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake --build /build -j"$(nproc)" --target signaling \
 && mkdir -p /out && install -s -m 0755 /build/bin/signaling /out/signaling \
 && tools/deploy/runtime_packages.sh /out/signaling > /out/packages

FROM builder AS build-routing
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake --build /build -j"$(nproc)" --target routing \
 && mkdir -p /out && install -s -m 0755 /build/bin/routing /out/routing \
 && tools/deploy/runtime_packages.sh /out/routing > /out/packages

FROM builder AS build-media
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake --build /build -j"$(nproc)" --target media \
 && mkdir -p /out && install -s -m 0755 /build/bin/media /out/media \
 && tools/deploy/runtime_packages.sh /out/media > /out/packages

# --- runtime -----------------------------------------------------------
FROM ${DEBIAN_SLIM_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN groupadd --system --gid 10001 trunkline \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin trunkline \
 && mkdir -p /etc/trunkline
LABEL org.opencontainers.image.title="Trunkline" \
      org.opencontainers.image.description="Trunkline SIP mediation server" \
      org.opencontainers.image.licenses="UNLICENSED"

# --- test peer ----------------------------------------------------------
# SIPp (Debian's sip-tester) as a PSTN gateway or a UC front end in
# docker-compose.yml.
FROM runtime AS sipp
RUN apt-get update \
 && apt-get install -y --no-install-recommends sip-tester \
 && rm -rf /var/lib/apt/lists/*
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["/usr/bin/sipp"]

FROM runtime AS routing
COPY --from=build-routing /out/packages /tmp/packages
RUN apt-get update \
 && xargs apt-get install -y --no-install-recommends < /tmp/packages \
 && rm -rf /var/lib/apt/lists/* /tmp/packages
COPY --from=build-routing /out/routing /usr/local/bin/routing
USER 10001:10001
EXPOSE 50061 50062 9461
ENTRYPOINT ["/usr/local/bin/routing"]
CMD ["--topology=/etc/trunkline/topology.yaml", "--grpc_address=0.0.0.0:50061", \
     "--admin_address=0.0.0.0:50062", "--metrics_address=0.0.0.0:9461"]

FROM runtime AS media
COPY --from=build-media /out/packages /tmp/packages
RUN apt-get update \
 && xargs apt-get install -y --no-install-recommends < /tmp/packages \
 && rm -rf /var/lib/apt/lists/* /tmp/packages
COPY --from=build-media /out/media /usr/local/bin/media
USER 10001:10001
# api, admin, metrics; RTP ports are the relay's range.
EXPOSE 50071 50072 9471
ENTRYPOINT ["/usr/local/bin/media"]
CMD ["--topology=/etc/trunkline/topology.yaml", "--grpc_address=0.0.0.0:50071", \
     "--admin_address=0.0.0.0:50072", "--metrics_address=0.0.0.0:9471"]

# The last stage: what `docker build .` builds without --target.
FROM runtime AS signaling
COPY --from=build-signaling /out/packages /tmp/packages
RUN apt-get update \
 && xargs apt-get install -y --no-install-recommends < /tmp/packages \
 && rm -rf /var/lib/apt/lists/* /tmp/packages
COPY --from=build-signaling /out/signaling /usr/local/bin/signaling
USER 10001:10001
# api, admin, metrics; SIP ports come from the topology.
EXPOSE 50051 50052 9451
ENTRYPOINT ["/usr/local/bin/signaling"]
CMD ["--topology=/etc/trunkline/topology.yaml", "--grpc_address=0.0.0.0:50051", \
     "--admin_address=0.0.0.0:50052", "--metrics_address=0.0.0.0:9451"]

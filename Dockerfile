# kafka-sidecar container image: the sidecar (`run`, the default command), the sidecar injector (`inject-webhook`,
# helm/kafka-sidecar runs it) and the tools (`top`, `validate-config`, `decode`, `healthcheck`). Node's current LTS
# line; the code also runs on Node 20+.
# Build:  docker build -t kafka-sidecar .
# Run:    docker run --rm -p 9092:9092 kafka-sidecar run --upstream broker:9092 --listen 0.0.0.0:9092 --advertised-host localhost
# What the tests check without a Docker engine (test/packaging/image.test.ts), and what they cannot: README, Container image.
ARG NODE_VERSION=26

# Compiles everything tsconfig.json includes (the tests and benchmarks type-check the same sources); only the runtime
# part of the output goes into the image.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY codec ./codec
COPY src ./src
COPY filters ./filters
COPY test ./test
COPY bench ./bench
COPY vitest.config.ts ./
RUN npx tsc -p tsconfig.json

# The runtime dependencies alone, installed from the lock file (not pruned from the full install).
FROM node:${NODE_VERSION}-bookworm-slim AS runtime-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
# glibc malloc: a fixed mmap threshold, so memory freed after a burst leaves the process (src/runtime/malloc-env.ts).
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=runtime-deps /src/node_modules ./node_modules
COPY package.json ./
# Runtime code only: the codec, the runtime and the filters. The test harness stays out, and with it the embedded
# Kafka of `dev`, which says so at once here (it needs the source checkout, Java and Maven).
COPY --from=build /src/dist/codec ./dist/codec
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/filters ./dist/filters
# The node image's unprivileged user, by number: Kubernetes can only check runAsNonRoot against a numeric user.
USER 1000:1000
# 9092       bootstrap listener (listen.port)
# 9093-9192  per-broker listeners, brokers.portBase + node id (node ids 0-99; controllers at portBase + 1000 + id)
# 9644       admin endpoint: /metrics /stats /healthz /readyz (admin.port; loopback unless told)
# 9645       health-only listener: /healthz /readyz (--health-port / KAFKA_SIDECAR_HEALTH_PORT; the injector sets it)
# 8443       the injector's HTTPS (inject-webhook --listen)
# Inside a container, bind what must be reached from outside it to 0.0.0.0 (--listen, --admin): loopback is the default.
EXPOSE 9092 9093-9192 9644 9645 8443
# Probes whatever this container runs (run, dev or inject-webhook) at the address it was configured with: its
# command line, KAFKA_SIDECAR_* variables and config file (src/commands/healthcheck.ts).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s CMD ["node", "dist/src/cli.js", "healthcheck"]
# Node runs as PID 1: the kernel gives PID 1 no default signal actions, and `run`, `dev` and `inject-webhook`
# handle SIGTERM and SIGINT themselves (drain, then exit), so no init process is needed; none of them starts
# child processes in the image, so there are no orphans to reap.
STOPSIGNAL SIGTERM
# Node flags: see src/runtime/node-flags.ts (Node refuses --single-threaded-gc in NODE_OPTIONS, so they are given here).
ENTRYPOINT ["node", "--single-threaded-gc", "--max-semi-space-size=2", "dist/src/cli.js"]
CMD ["run"]

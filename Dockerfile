# kafka-sidecar container image. Node's current LTS line; the code also runs on Node 20+.
# Build:  docker build -t kafka-sidecar .
# Run:    docker run --rm -p 9092:9092 kafka-sidecar run --upstream broker:9092 --listen 0.0.0.0:9092 --advertised-host localhost
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json biome.json ./
COPY codec ./codec
COPY src ./src
COPY filters ./filters
COPY test ./test
COPY bench ./bench
COPY vitest.config.ts ./
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
# glibc malloc: a fixed mmap threshold, so memory freed after a burst leaves the process (src/runtime/malloc-env.ts).
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
# Runtime code only: the codec, the runtime and the filters (the test harness stays out of the image).
COPY --from=build /src/dist/codec ./dist/codec
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/filters ./dist/filters
USER node
# 9092 bootstrap listener; 9093+<node id> per-broker listeners; 9644 admin (healthz, readyz).
EXPOSE 9092 9644
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:9644/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node flags: see src/runtime/node-flags.ts (Node refuses --single-threaded-gc in NODE_OPTIONS, so they are given here).
ENTRYPOINT ["node", "--single-threaded-gc", "--max-semi-space-size=2", "dist/src/cli.js"]
CMD ["run"]

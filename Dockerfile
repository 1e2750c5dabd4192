# syntax=docker/dockerfile:1
# logstream container image.
#
# Node 26 (node:26-slim, Debian slim, glibc) in both stages: the active LTS line since October 2026;
# package.json engines (>=26 <27) and .nvmrc pin it, and the code runs TypeScript directly through
# Node's type stripping (`node src/main.ts`), which Node 20 cannot do (Node 20 is end of life). glibc (Debian slim),
# not Alpine/musl: the native modules snappy and lz4-napi come as prebuilt glibc binaries.
#
# scripts/docker-build-check.ts (npm run docker:check) replays this file's COPY, RUN, ENV,
# ENTRYPOINT/CMD and HEALTHCHECK lines without Docker; it fails on a RUN command it does not know,
# so keep RUN lines to the commands it understands (npm ci, node <script>, npm cache clean, rm -rf).

# The base image of both stages, pinned by digest: the same Dockerfile builds on the same bytes. This
# is node:26-slim as docker-library/repo-info recorded it on 2026-08-05 (Node 26.7.0, Debian trixie),
# the newest record the project's build machines can see (they reach package registries, not Docker
# Hub). Update it on purpose, both values in one commit: docs/container.md, "Pinning the base image".
ARG NODE_BASE=node:26-slim
ARG NODE_DIGEST=sha256:4ebb5ace66f15a24c14c492e01a8beeed4fddf970a856109f5126e703e5fe503

# ---- build: all dependencies, type-check. Nothing is compiled: the image ships src/*.ts as is. ----
FROM ${NODE_BASE}@${NODE_DIGEST} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script in the tree is the dev dependency "node" (the Node
# runtime as an npm package, used by local development); the image's own node is used instead.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# tsconfig includes test/bench/scripts too; they are not in the image (.dockerignore), tsc skips them.
RUN node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit

# ---- runtime: production dependencies only, no npm, non-root. ----
FROM ${NODE_BASE}@${NODE_DIGEST} AS runtime
ARG NODE_BASE
ARG NODE_DIGEST
# Set by the release build: --build-arg VERSION=$(node -p 'require("./package.json").version')
#   --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%FT%TZ) --build-arg SOURCE=<repo URL>
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="logstream" \
      org.opencontainers.image.description="Ships security logs from a Kafka consumer group to SIEM sinks, at least once." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/${NODE_BASE}" \
      org.opencontainers.image.base.digest="${NODE_DIGEST}"
# MALLOC_ARENA_MAX: glibc's allocator keeps at most 2 arenas instead of 8 per core (the main thread's,
# and one for libuv's threads compressing batches): memory freed in one arena is not stranded in
# another. Peak RSS at full rate 10-30 MB lower at the same CPU (docs/performance.md, "Memory at full rate").
ENV NODE_ENV=production \
    HTTP_PORT=8080 \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only (the dev dependency "node" is not installed: the image's node runs).
# The SBOM of the production packages (CycloneDX JSON, /app/sbom.cdx.json, from the lock file npm ci installed: every package,
# version, license and integrity hash) is written before npm goes. npm, npx, corepack and yarn are then
# removed: nothing runs them at runtime, and a smaller tool set is a smaller attack surface. So are the
# shells, last (this RUN is the last one that needs /bin/sh): the entry point and the HEALTHCHECK are
# exec form and logstream starts no processes, so nothing at run time needs a shell, and code injected
# into the process finds none. Debug with an ephemeral container (kubectl debug --target). Everything
# under /app stays owned by root, read-only to the app user.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm sbom --sbom-format cyclonedx --omit dev --package-lock-only --sbom-type application > /app/sbom.cdx.json \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/* /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && rm -rf /usr/bin/bash /usr/bin/rbash /usr/bin/dash /usr/bin/sh /bin/bash /bin/rbash /bin/dash /bin/sh
COPY --from=build /app/src ./src
# The image's unprivileged "node" user (uid/gid 1000), numeric so Kubernetes runAsNonRoot can verify
# it. Nothing is written at runtime except the file sink's FILE_PATH (mount a volume there), so the
# root filesystem can be mounted read-only.
USER 1000:1000
EXPOSE 8080
# Liveness only (/healthz); Kubernetes ignores HEALTHCHECK and uses the chart's /healthz and /readyz probes.
# METRICS_PORT when set (plain HTTP); else HTTP_PORT, over HTTPS when HTTP_TLS_CERT_FILE is set (its own
# certificate is not checked here: the probe only asks whether the process answers).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const e=process.env,m=e.METRICS_PORT,s=!m&&e.HTTP_TLS_CERT_FILE;require(s?'node:https':'node:http').get({host:'127.0.0.1',port:m||e.HTTP_PORT||8080,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# No init process: Node is PID 1 and src/cli/run.ts installs its own SIGTERM/SIGINT handlers (drain,
# commit, leave the group, exit 0; exit 1 if SHUTDOWN_TIMEOUT is overrun). logstream starts no child
# processes, so there are no zombies to reap. Exec form, so the signal reaches node and not a shell.
ENTRYPOINT ["node", "src/main.ts"]
CMD ["run"]

# syntax=docker/dockerfile:1
# logstream: Node 24 (the same major as package.json engines and .nvmrc). TypeScript runs directly on
# Node 24's type stripping, so the image ships src/ as is; the build stage only type-checks it.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN node_modules/.bin/tsc -p tsconfig.json --noEmit

FROM node:24-slim
LABEL org.opencontainers.image.title="logstream" \
      org.opencontainers.image.description="Ships security logs from a Kafka consumer group to SIEM sinks, at least once." \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production HTTP_PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/src ./src
# Run as the image's unprivileged user; the root filesystem can be read-only (nothing is written but
# the file sink's path, which should be a mounted volume).
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (drain, commit, leave the group, exit 0).
ENTRYPOINT ["node", "src/main.ts"]
CMD ["run"]

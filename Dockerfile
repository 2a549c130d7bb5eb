# s3files: one image for the CSI controller, the CSI node plugin and `s3files serve`.
#
# Build stage: compile TypeScript and keep only production dependencies. npm ci's postinstall
# compiles lmdb-js's native addon from patched source (scripts/build-lmdb.mjs), hence the
# compilers here and not in the runtime image.
#
# Both stages build on the Node.js LTS release pinned in scripts/tool-pins.sh (a test checks
# they agree). scripts/build-image.sh builds this file with podman, and makes this base image
# locally where it cannot be pulled.
FROM node:24.22.3-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts/build-lmdb.mjs scripts/link-node.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY cmd ./cmd
COPY pkg ./pkg
COPY proto ./proto
COPY test ./test
COPY bench ./bench
RUN npx tsc -p . && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf dist/test dist/bench && find dist -name '*.test.js*' -delete

# Runtime: mount.nfs (nfs-common) for the kernel NFS client mounts of NodeStageVolume,
# mount/umount (util-linux, mount) for the bind mounts of NodePublishVolume.
FROM node:24.22.3-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends nfs-common util-linux mount ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/proto ./proto
COPY --from=build /src/bin ./bin
ENV NODE_ENV=production
ENTRYPOINT ["node", "/app/dist/cmd/s3files.js"]
CMD ["help"]

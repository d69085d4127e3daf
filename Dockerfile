# syntax=docker/dockerfile:1
# keyport's production image: a release build with the Swift standard library linked statically and
# its symbols stripped, on an empty (scratch) image that holds only what the binary loads: the C
# library, libstdc++, libgcc_s and zlib from the pinned Debian runtime image, and the CA certificates.
# It runs as a numeric non-root user; there is no shell, no package manager and no other program.
#
#   podman build -t keyport .        (or: docker build -t keyport .)
#   podman run --rm -p 1123:1123 --read-only keyport
#
# Base images are build arguments, so a mirror or a newer pin needs no edit:
#   --build-arg SWIFT_IMAGE=registry.example/swift:6.3.1-bookworm --build-arg RUNTIME_IMAGE=...
# Unit tests run in CI (`make test`), not here.

ARG SWIFT_IMAGE=docker.io/library/swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:12.15-slim

FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# Package.swift only: dependencies resolve as in a fresh clone (.dockerignore says why).
COPY Package.swift ./
# SwiftPM checks every target's folder when it loads the package, the test targets' too.
COPY Sources ./Sources
COPY Tests ./Tests
# The cache mount keeps SwiftPM's checkouts and objects between builds of changed sources; the
# binary is copied out of it in the same step. The ldd check proves no Swift library is dynamic.
# The image gets the binary without symbols (a third of its size); /out/keyport.unstripped stays in
# this stage for symbolicating crash addresses (README: "Image size").
RUN --mount=type=cache,id=keyport-swiftpm-release,target=/src/.build \
    swift build -c release --product keyport --static-swift-stdlib -Xlinker --strip-debug \
    && install -D -m 0755 .build/release/keyport /out/keyport.unstripped \
    && llvm-objcopy --strip-all /out/keyport.unstripped /out/keyport \
    && ! ldd /out/keyport | grep libswift
# buildah (podman 4) reuses a cached LABEL or ENV layer when only a build argument changed
# (containers/buildah#2837), so a commit that changed no source got the previous commit's revision.
# A RUN keys its cache on the arguments: they go through this one into a file the runtime stage copies.
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=""
RUN printf 'version=%s\nrevision=%s\nsource=%s\n' "$VERSION" "$REVISION" "$SOURCE" >/out/build-info

# The runtime's files: exactly the shared libraries the binary links (ldd), with the dynamic loader,
# from the pinned Debian image, and the build image's CA bundle (the same Debian release's).
FROM ${RUNTIME_IMAGE} AS runtime-files
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY --from=build /out/keyport /usr/local/bin/keyport
COPY --from=build /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt
RUN ldd /usr/local/bin/keyport | grep -o '/[^ ]*' | sort -u | xargs -I{} cp --parents -L {} /rootfs/ \
    && printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' >/rootfs/etc/passwd \
    && printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >/rootfs/etc/group \
    && mkdir -m 1777 /rootfs/tmp

FROM scratch
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
# `make image` sets these: BuildInfo's release version, git's HEAD and origin remote.
ARG SOURCE=""
COPY --from=runtime-files /rootfs/ /
COPY --from=build /out/build-info /usr/share/keyport/build-info
LABEL org.opencontainers.image.title="keyport" \
      org.opencontainers.image.description="Key generation and port data service, with Prometheus metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
COPY --from=build /out/keyport /usr/local/bin/keyport
COPY Sources/KeyportCore/Resources/sample-ports.json /usr/share/keyport/sample-ports.json
COPY Sources/KeyportCore/Resources/openapi.yaml /usr/share/keyport/openapi.yaml
# Numeric, so Kubernetes' runAsNonRoot can verify it without an /etc/passwd entry.
USER 65532:65532
# KEYPORT_BUILD_REVISION: what /version and keyport_build_info report as the revision.
# KEYPORT_HOST is not set: keyport's default `::` takes IPv4 and IPv6 (IPv4 only where IPv6 is off).
ENV KEYPORT_BUILD_REVISION=${REVISION} \
    KEYPORT_SRV_PORT=1123 \
    KEYPORT_ADMIN_PORT=9123 \
    KEYPORT_PORTS_FILE=/usr/share/keyport/sample-ports.json
# The service listener; 9123 is the admin listener (/metrics, /version, /debug/*), for the cluster only.
EXPOSE 1123 9123
# Exec form: no shell at run time. Readiness, so `depends_on: service_healthy` waits for loaded ports.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/keyport", "check", "http://127.0.0.1:1123/ready", "--timeout", "2s"]
ENTRYPOINT ["/usr/local/bin/keyport"]

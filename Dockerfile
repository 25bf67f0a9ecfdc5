# syntax=docker/dockerfile:1
#
# smexec on scratch: a static binary and the CA certificates it needs to
# reach Secrets Manager over TLS, nothing else.
#
#   docker build -t smexec .
#   docker run --rm -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY smexec get prod/db:password
#
# For several platforms at once, with the labels filled in:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#       --build-arg VERSION=v1.2.3 \
#       --build-arg REVISION="$(git rev-parse HEAD)" \
#       --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
#       -t registry.example.com/smexec:v1.2.3 --push .
#
# It runs as UID:GID 65532:65532 (no privilege is needed unless smexec is
# asked to chown files); --build-arg UID=0 --build-arg GID=0 builds a root
# image for --file-owner.
#
# Application images copy the binary in and use it as their entrypoint:
# see examples/docker/Dockerfile. --target flyte-sidecar builds the image
# for Flyte's webhook (below). image_test.go tests both images as far as
# a machine without a container engine can: it builds the same static
# binary, puts it and a CA bundle alone into an empty root at the paths
# below, and runs it there with chroot.

# The builder runs on the build machine's platform and cross-compiles to
# the target's (buildx sets TARGETOS and TARGETARCH), so a multi-platform
# build needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# The modules first, so that a source change reuses the download layer.
COPY go.mod go.sum ./
RUN go mod download
# Only the sources the binary is built from: no .venv, bin or testdata,
# and no internal/testenv (.dockerignore).
COPY main.go ./
COPY internal ./internal
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
# Static (no cgo), so it runs on scratch; -trimpath and -s -w keep build
# paths and symbols out of the binary.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/smexec .

# What both images are: the binary and the CA bundle alone on scratch,
# the labels they share, and the user they run as. The two below add
# their own title, description, documentation and entrypoint.
FROM scratch AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.url="https://github.com/smexec/smexec" \
      org.opencontainers.image.source="https://github.com/smexec/smexec" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/smexec /smexec
ARG UID=65532
ARG GID=65532
USER ${UID}:${GID}

# The Flyte sidecar image, a drop-in for Flyte's AWS secret sidecar
# (FlytePropeller's webhook.awsSecretManager.sidecarImage; docs/flyte.md):
# the same binary and CA bundle, with "smexec flyte-sidecar" as its
# entrypoint, which Flyte's webhook runs with no arguments.
#
#   docker build --target flyte-sidecar -t smexec-flyte-sidecar .
#
# It runs as 65532:65532 too: the webhook's volume at /tmp is an emptyDir,
# writable by any user, and the files are written 0444 so that the task
# container reads them whatever user it runs as.
FROM runtime AS flyte-sidecar
LABEL org.opencontainers.image.title="smexec-flyte-sidecar" \
      org.opencontainers.image.description="Flyte's AWS Secrets Manager sidecar contract (SECRET_ARN, SECRET_FILENAME, /tmp), done by smexec" \
      org.opencontainers.image.documentation="https://github.com/smexec/smexec/blob/main/docs/flyte.md"
ENTRYPOINT ["/smexec", "flyte-sidecar"]

# The default image, last so that a build without --target makes it.
FROM runtime
LABEL org.opencontainers.image.title="smexec" \
      org.opencontainers.image.description="Inject AWS Secrets Manager secrets into a command's environment and files, then run it" \
      org.opencontainers.image.documentation="https://github.com/smexec/smexec/blob/main/README.md"
ENTRYPOINT ["/smexec"]

# smexec on scratch: a static binary and the CA certificates it needs to
# reach Secrets Manager over TLS, nothing else.
#
#   docker build -t smexec .
#   docker run --rm -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY smexec get prod/db:password
#
# Application images copy the binary in and use it as their entrypoint:
# see examples/docker/Dockerfile.

FROM golang:1.26 AS build
WORKDIR /src
# The modules first, so that a source change reuses the download layer.
COPY go.mod go.sum ./
RUN go mod download
# Only the sources the binary is built from: no .venv, bin or testdata.
COPY main.go ./
COPY internal ./internal
ARG VERSION=dev
# Static (no cgo), so it runs on scratch; -trimpath and -s -w keep build
# paths and symbols out of the binary.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/smexec .

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/smexec /smexec
# Not root: smexec needs no privilege unless it is asked to chown files.
USER 65532:65532
ENTRYPOINT ["/smexec"]

# syntax=docker/dockerfile:1
#
# otelcol-linnix container image (BuildKit, the default builder since Docker 23):
#
#   docker build -t otelcol-linnix:0.1.0 .
#
# It runs as the distroless "nonroot" user (65532) and carries the
# capabilities of README "Privileges" as file capabilities on the binary, so
# the container must add exactly those to its bounding set (compose cap_add,
# Kubernetes securityContext.capabilities.add) and must not set
# no-new-privileges (allowPrivilegeEscalation: false), which blocks file
# capabilities. See packaging/README.md, "Container image".

# Build: the builder-generated distribution module, static and stripped, as
# `make build` does.
FROM golang:1.26.8-bookworm AS build
RUN apt-get update \
	&& apt-get install -y --no-install-recommends libcap2-bin \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
COPY cmd/otelcol-linnix/go.mod cmd/otelcol-linnix/go.sum ./cmd/otelcol-linnix/
RUN --mount=type=cache,target=/go/pkg/mod \
	cd cmd/otelcol-linnix && go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	cd cmd/otelcol-linnix \
	&& CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/plain/otelcol-linnix . \
	&& cp /out/plain/otelcol-linnix /out/otelcol-linnix \
	&& setcap cap_bpf,cap_perfmon+ep /out/otelcol-linnix \
	&& getcap /out/otelcol-linnix

# The gateway image (`docker build --target gateway`): the same binary
# without file capabilities, for collectors that load no BPF (the Kubernetes
# gateway). A binary with file capabilities cannot even start in a container
# that does not add them all to its bounding set.
FROM gcr.io/distroless/static-debian12:nonroot AS gateway
COPY --from=build /out/plain/otelcol-linnix /usr/bin/otelcol-linnix
COPY packaging/container-config.yaml /etc/otelcol-linnix/config.yaml
USER 65532:65532
EXPOSE 4317 4318 9464 8888 13133
ENTRYPOINT ["/usr/bin/otelcol-linnix"]
CMD ["--config", "/etc/otelcol-linnix/config.yaml"]

# The default image, last so that a plain `docker build` makes it: the agent
# that loads the eBPF programs.
# Run: a static binary on distroless (CA certificates, tzdata, /etc/passwd
# with nonroot; no shell). COPY keeps the security.capability extended
# attribute with BuildKit.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/otelcol-linnix /usr/bin/otelcol-linnix
COPY packaging/container-config.yaml /etc/otelcol-linnix/config.yaml
USER 65532:65532
# Prometheus exporter, the collector's own metrics, health check.
EXPOSE 9464 8888 13133
ENTRYPOINT ["/usr/bin/otelcol-linnix"]
CMD ["--config", "/etc/otelcol-linnix/config.yaml"]

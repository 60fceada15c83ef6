# tenantctl in a small image: the scheduler service of docker-compose.yml runs it, and
# any other command works too (docker run --rm tenantctl:dev jobs).
#
#   docker build -t tenantctl:dev .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# timetzdata: CRON_TZ= schedules need zone data whatever the base image holds.
RUN CGO_ENABLED=0 go build -trimpath -tags timetzdata \
      -ldflags "-s -w -X github.com/tenantctl/tenantctl/internal/version.stamped=${VERSION}" -o /out/tenantctl ./cmd/tenantctl

# No shell, no package manager; runs as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tenantctl /usr/local/bin/tenantctl
USER nonroot:nonroot
# The scheduler's /healthz, /readyz and /metrics (TENANTCTL_SCHEDULER_LISTEN), and
# tenantctl serve's console and API (TENANTCTL_SERVE_LISTEN).
EXPOSE 9477 8080
ENTRYPOINT ["/usr/local/bin/tenantctl"]
CMD ["scheduler"]

# syntax=docker/dockerfile:1
# One image, every role: the roles are arguments, the configuration is environment.
#   docker build -t kannon .
#   docker run --rm kannon --help
#   docker run -e KANNON_DATABASE_URL=postgres://… -e KANNON_NATS_URL=nats://… kannon --run-sender
# The image carries no PostgreSQL or nats-server, so the embedded default does not apply here:
# set database_url and nats_url (README.md, "Deploying").

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
# Restore from the project file alone first, so a code change does not download the packages again.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY Kannon/Kannon.csproj Kannon/
RUN dotnet restore Kannon/Kannon.csproj
# The project embeds ../appsettings.json and ../migrations/*.sql.
COPY appsettings.json ./
COPY migrations/ migrations/
COPY Kannon/ Kannon/
RUN dotnet publish Kannon -c Release -o /app --no-restore

# Not the chiseled variant: it has no shell, and the HEALTHCHECK below needs bash (no curl or wget
# in either variant).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS runtime
WORKDIR /app
COPY --from=build /app ./
# kannon is the published apphost in /app.
# Port 25 needs root or NET_BIND_SERVICE: the inbound SMTP server listens on 2525 (publish 25:2525).
ENV PATH="/app:${PATH}" \
    KANNON_SMTP__ADDRESS=":2525"
# http.port (/healthz, /readyz, /metrics, tracker), api.port (gRPC h2c), smtp.address.
EXPOSE 8080 50051 2525
# The base image's non-root user "app" (UID 1654), numeric so runAsNonRoot can check it.
USER $APP_UID
# Liveness of whatever roles run: /healthz on http.port, over bash's /dev/tcp.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${KANNON_HTTP__PORT:-8080} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 4 status <&3 && [[ $status == *' 200 '* ]]"]
ENTRYPOINT ["kannon"]
CMD ["--help"]

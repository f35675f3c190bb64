//! The same topology in containers: a multi-stage `Dockerfile` (a small
//! final image, non-root, health-checked on `/readyz`) and a
//! `docker-compose.yml` with nginx, the instances, a one-shot prepare
//! service they wait on, PostgreSQL and Redis (passwords, no published
//! ports, named volumes, health checks).

use std::fmt::Write;

use super::nginx::{self, Upstreams};
use super::plan::Plan;
use super::File;

/// The port every container instance listens on.
const PORT: u16 = 8000;

const DOCKERFILE: &str = "# Keel's image, rendered by `keel deploy render`. Build from the
# repository root: docker build -f deploy/compose/Dockerfile -t keel .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin keel

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/keel --create-home keel \\
    && apt-get update && apt-get install -y --no-install-recommends ca-certificates \\
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/keel /usr/local/bin/keel
USER keel
WORKDIR /var/lib/keel
ENV KEEL_BIND=0.0.0.0:8000
EXPOSE 8000
# Ready means the database answers; bash's /dev/tcp needs no extra tool.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \\
    CMD [\"bash\", \"-c\", \"exec 3<>/dev/tcp/127.0.0.1/8000 && printf 'GET /readyz HTTP/1.0\\\\r\\\\n\\\\r\\\\n' >&3 && head -1 <&3 | grep -q ' 200 '\"]
STOPSIGNAL SIGTERM
ENTRYPOINT [\"/usr/local/bin/keel\"]
CMD [\"serve\"]
";

/// The files.
pub(super) fn files(plan: &Plan) -> Vec<File> {
    let names: Vec<String> = (1..=plan.ports.len()).map(|i| format!("keel{i}")).collect();
    let mut yml = String::from(
        "# Keel with nginx, PostgreSQL and Redis, rendered by `keel deploy render`.
# Put the settings in keel.env (from .env.example; DATABASE_URL
# postgres://keel:${POSTGRES_PASSWORD}@postgres:5432/keel, KEEL_CACHE_URL
# redis://:${REDIS_PASSWORD}@redis:6379/0) and the passwords in .env, then:
# docker compose up -d
x-keel: &keel
  build:
    context: ../..
    dockerfile: deploy/compose/Dockerfile
  image: keel:latest
  env_file: keel.env
  environment:
    KEEL_BIND: 0.0.0.0:8000
    KEEL_STATIC_ROOT: /var/lib/keel/static
    KEEL_MEDIA_STORAGE: file:///var/lib/keel/media
  volumes:
    - static:/var/lib/keel/static
    - media:/var/lib/keel/media
  read_only: true
  tmpfs:
    - /tmp
  security_opt:
    - no-new-privileges:true
  cap_drop:
    - ALL
  restart: unless-stopped

services:
  prepare:
    <<: *keel
    command: [\"bash\", \"-c\", \"keel migrate && keel collectstatic --no-input\"]
    restart: \"no\"
    depends_on:
      postgres:
        condition: service_healthy
      redis:
        condition: service_healthy
",
    );
    for name in &names {
        let _ = write!(
            yml,
            "
  {name}:
    <<: *keel
    stop_grace_period: {grace}s
    depends_on:
      prepare:
        condition: service_completed_successfully
",
            grace = plan.shutdown.as_secs() + 15,
        );
    }
    let _ = write!(
        yml,
        "
  # Nightly backups: one verified archive a day in the backups volume, the
  # newest 14 kept (copy them off this machine too).
  backup:
    <<: *keel
    command: [\"bash\", \"-c\", \"while true; do keel backup --out-dir /var/lib/keel/backups --keep 14 --verify; sleep 86400; done\"]
    volumes:
      - static:/var/lib/keel/static
      - media:/var/lib/keel/media
      - backups:/var/lib/keel/backups
    depends_on:
      prepare:
        condition: service_completed_successfully

  nginx:
    image: nginx:1.27-alpine
    ports:
      - \"80:80\"
      - \"443:443\"
    volumes:
      - ./nginx.conf:/etc/nginx/conf.d/default.conf:ro
      - ./tls:/etc/keel/tls:ro
      - static:{static_root}:ro
      - media:{media_root}:ro
    depends_on:
{deps}    restart: unless-stopped

  postgres:
    image: postgres:16
    environment:
      POSTGRES_USER: keel
      POSTGRES_DB: keel
      POSTGRES_PASSWORD: ${{POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}}
    volumes:
      - postgres:/var/lib/postgresql/data
    healthcheck:
      test: [\"CMD-SHELL\", \"pg_isready -U keel -d keel\"]
      interval: 5s
      retries: 10
    restart: unless-stopped

  redis:
    image: redis:7
    command: [\"redis-server\", \"--requirepass\", \"${{REDIS_PASSWORD:?set REDIS_PASSWORD in .env}}\", \"--save\", \"\"]
    healthcheck:
      test: [\"CMD-SHELL\", \"redis-cli -a \\\"$$REDIS_PASSWORD\\\" ping | grep -q PONG\"]
      interval: 5s
      retries: 10
    environment:
      REDIS_PASSWORD: ${{REDIS_PASSWORD:?set REDIS_PASSWORD in .env}}
    restart: unless-stopped

volumes:
  static:
  media:
  postgres:
  backups:
",
        static_root = plan.static_root.display(),
        media_root = plan.media_root.as_deref().unwrap_or(std::path::Path::new("/var/lib/keel/media")).display(),
        deps = names.iter().map(|n| format!("      - {n}\n")).collect::<String>(),
    );
    let site = nginx::site(plan, &Upstreams::Named(names, PORT));
    vec![
        File::new("compose/Dockerfile", DOCKERFILE.to_owned()),
        File::new("compose/docker-compose.yml", yml),
        File::new("compose/nginx.conf", site),
    ]
}

//! systemd units: `keel@PORT.service` (one instance per port, hardened),
//! `keel-prepare.service` (migrations and static files, once, before the
//! instances), `keel.target` (all of them), a daily `clearsessions`, and a
//! nightly verified `backup` (the newest 14 kept).

use std::fmt::Write;

use super::plan::{Plan, BINARY, ENV_FILE, WORKDIR};
use super::File;

/// Where the nightly archives go.
const BACKUP_DIR: &str = "/var/backups/keel";

/// The sandbox every unit runs in: a dedicated user, nothing writable but
/// its state folder and the data folders, no privilege, only the system
/// calls and address families a network service uses.
fn hardening(plan: &Plan) -> String {
    let mut paths: Vec<String> = vec![WORKDIR.to_owned()];
    paths.extend(plan.data_paths().iter().map(|p| p.display().to_string()));
    format!(
        "User=keel
Group=keel
EnvironmentFile={ENV_FILE}
WorkingDirectory={WORKDIR}
StateDirectory=keel
LogsDirectory=keel
ReadWritePaths={paths}
UMask=0077
PrivateMounts=yes
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
DevicePolicy=closed
CapabilityBoundingSet=
AmbientCapabilities=
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
",
        paths = paths.join(" "),
    )
}

const HEADER: &str = "# Rendered by `keel deploy render`. Install the systemd/ files in
# /etc/systemd/system, then: systemctl daemon-reload && systemctl enable --now keel.target
";

/// The units.
pub(super) fn units(plan: &Plan) -> Vec<File> {
    let sandbox = hardening(plan);
    let after = match (plan.postgres, plan.redis) {
        (true, true) => " postgresql.service redis-server.service",
        (true, false) => " postgresql.service",
        (false, true) => " redis-server.service",
        (false, false) => "",
    };
    // Longer than the drain, so systemd never kills an instance that is
    // still finishing its requests.
    let stop = plan.shutdown.as_secs() + 15;
    let instance = format!(
        "{HEADER}
[Unit]
Description=Keel instance on 127.0.0.1:%i
After=network-online.target{after} keel-prepare.service
Wants=network-online.target
Requires=keel-prepare.service
PartOf=keel.target

[Service]
Type=exec
ExecStart={BINARY} serve --bind 127.0.0.1:%i
# SIGTERM starts the drain: /readyz turns 503, the listener closes,
# requests in flight finish (KEEL_SHUTDOWN_TIMEOUT).
KillSignal=SIGTERM
TimeoutStopSec={stop}
Restart=on-failure
RestartSec=2
LimitNOFILE=65536
{sandbox}
[Install]
WantedBy=keel.target
"
    );
    let prepare = format!(
        "{HEADER}
[Unit]
Description=Keel: apply migrations and collect static files
After=network-online.target{after}
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={BINARY} migrate
ExecStart={BINARY} collectstatic --no-input
{sandbox}"
    );
    let mut wants = String::new();
    for port in &plan.ports {
        let _ = write!(wants, " keel@{port}.service");
    }
    let target = format!(
        "{HEADER}
[Unit]
Description=Keel: every instance
Wants=keel-prepare.service{wants}
After=keel-prepare.service

[Install]
WantedBy=multi-user.target
"
    );
    let clear = format!(
        "{HEADER}
[Unit]
Description=Keel: delete expired sessions
After=network-online.target{after}

[Service]
Type=oneshot
ExecStart={BINARY} clearsessions
{sandbox}"
    );
    let backup_sandbox = sandbox.replacen("ReadWritePaths=", &format!("ReadWritePaths={BACKUP_DIR} "), 1);
    let backup = format!(
        "{HEADER}
[Unit]
Description=Keel: back up the database and the media (verified; the newest 14 kept)
After=network-online.target{after}

[Service]
Type=oneshot
ExecStartPre=+/usr/bin/install -d -o keel -g keel -m 0700 {BACKUP_DIR}
ExecStart={BINARY} backup --out-dir {BACKUP_DIR} --keep 14 --verify
Nice=10
IOSchedulingClass=idle
{backup_sandbox}"
    );
    let backup_timer = format!(
        "{HEADER}
[Unit]
Description=Keel: back up nightly

[Timer]
OnCalendar=*-*-* 03:00:00
RandomizedDelaySec=30m
Persistent=true

[Install]
WantedBy=timers.target
"
    );
    let timer = format!(
        "{HEADER}
[Unit]
Description=Keel: delete expired sessions daily

[Timer]
OnCalendar=daily
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
"
    );
    let mut files = vec![
        File::new("systemd/keel@.service", instance),
        File::new("systemd/keel-prepare.service", prepare),
        File::new("systemd/keel.target", target),
        File::new("systemd/keel-clearsessions.service", clear),
        File::new("systemd/keel-clearsessions.timer", timer),
        File::new("systemd/keel-backup.service", backup),
        File::new("systemd/keel-backup.timer", backup_timer),
    ];
    // Each instance's /metrics on a port of its own: the instances share
    // one settings file, so the port is given on the command line.
    for (port, metrics) in plan.ports.iter().zip(&plan.metrics) {
        let dropin = format!(
            "{HEADER}
[Service]
ExecStart=
ExecStart={BINARY} serve --bind 127.0.0.1:{port} --metrics-bind {metrics}
"
        );
        files.push(File::new(format!("systemd/keel@{port}.service.d/metrics.conf"), dropin));
    }
    files
}

//! The nginx site: a default server refusing unknown hosts on 80 and 443,
//! port 80 redirected to https (certbot's challenges excepted), TLS 1.2 and
//! 1.3 with a modern cipher list, static files and protected media served by
//! nginx, everything else proxied to the instances.
//!
//! Keel sets the security headers on what it answers, so nginx adds none to
//! proxied responses (no header twice); it adds them to what it serves
//! itself (static files, media). Retries: a request goes to the next
//! instance only when the connection failed or timed out, which nginx never
//! does for a non-idempotent request that reached an instance.

use std::fmt::Write;

use super::plan::{Plan, ACME_ROOT, CERT, KEY};

/// Where the instances are.
pub(super) enum Upstreams {
    /// `127.0.0.1:PORT` on this server (systemd).
    Loopback,
    /// Host names of containers, each on `port` (compose).
    Named(Vec<String>, u16),
}

/// The ciphers of Mozilla's "intermediate" configuration (TLS 1.2; TLS 1.3
/// suites are all strong and not configurable here).
const CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:\
ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// What nginx adds to the files it serves itself (Keel adds these to its
/// own answers).
const OWN_HEADERS: &str = "        add_header Strict-Transport-Security \"max-age=31536000; includeSubDomains\" always;
        add_header X-Content-Type-Options nosniff always;
        add_header Cross-Origin-Resource-Policy same-origin always;
        add_header Referrer-Policy same-origin always;
";

/// nginx's duration: whole seconds.
fn secs(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

/// The site file.
pub(super) fn site(plan: &Plan, upstreams: &Upstreams) -> String {
    let names = plan.hosts.join(" ");
    let mut out = String::new();
    let _ = write!(
        out,
        "# nginx site for {url}, rendered by `keel deploy render`. Install it as
# /etc/nginx/sites-enabled/keel.conf (and remove the default site).

# The instances. `keepalive` pools connections to them; nginx closes an
# idle pooled connection after `keepalive_timeout`, shorter than Keel's
# KEEL_KEEPALIVE_TIMEOUT ({keepalive}) and than the grace a draining
# instance gives idle connections ({grace}), so it is always nginx, never
# Keel, that closes an idle one: Keel never closes a connection under a
# request nginx is sending. `max_fails=0`: an instance is never taken out
# for a failure, so a rolling restart cannot leave nginx believing both are
# down; a refused connection moves the request to the next instance at once.
upstream keel {{
",
        url = plan.public_url,
        keepalive = secs(plan.keepalive),
        grace = secs(crate::server::DRAIN_GRACE),
    );
    match upstreams {
        Upstreams::Loopback => plan.ports.iter().for_each(|port| {
            let _ = writeln!(out, "    server 127.0.0.1:{port} max_fails=0;");
        }),
        Upstreams::Named(names, port) => names.iter().for_each(|name| {
            let _ = writeln!(out, "    server {name}:{port} max_fails=0;");
        }),
    }
    // Half the drain grace, at least a second.
    let pool_timeout = (crate::server::DRAIN_GRACE.as_secs() / 2).max(1);
    let _ = write!(
        out,
        "    keepalive 32;
    keepalive_timeout {pool_timeout}s;
}}

# A name with a content hash (`keel.3f2a9c1b7d4e.css`) never changes.
map $uri $keel_static_cache {{
    \"~\\.[0-9a-f]{{12}}\\.[A-Za-z0-9]+$\" \"public, max-age=31536000, immutable\";
    default \"public, max-age=300\";
}}

# Requests for any other host name get no answer at all: a scanner or a
# forged Host never reaches Keel.
server {{
    listen 80 default_server;
    listen [::]:80 default_server;
    server_name _;
    return 444;
}}

server {{
    listen 443 ssl http2 default_server;
    listen [::]:443 ssl http2 default_server;
    server_name _;
    ssl_reject_handshake on;
}}

# Plain http: certbot's challenges, and a permanent redirect to https.
server {{
    listen 80;
    listen [::]:80;
    server_name {names};

    location /.well-known/acme-challenge/ {{
        root {ACME_ROOT};
    }}

    location / {{
        return 301 https://$host$request_uri;
    }}
}}

server {{
    listen 443 ssl http2;
    listen [::]:443 ssl http2;
    server_name {names};

    # TLS 1.2 and 1.3 only, Mozilla's intermediate ciphers (all strong), in
    # the server's order.
    ssl_certificate {CERT};
    ssl_certificate_key {KEY};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {CIPHERS};
    ssl_prefer_server_ciphers on;
    ssl_session_timeout 1d;
    ssl_session_cache shared:KeelTLS:10m;
    ssl_session_tickets off;
",
    );
    if !plan.self_signed {
        out.push_str(
            "    # OCSP stapling: the certificate's chain (Let's Encrypt's fullchain.pem)
    # names the responder.
    ssl_stapling on;
    ssl_stapling_verify on;
",
        );
    }
    let _ = write!(
        out,
        "
    # Keel's limits: the largest body any route takes, and its clocks.
    client_max_body_size {max_body};
    client_header_timeout {header};
    client_body_timeout {body};
    keepalive_timeout {keepalive};
    server_tokens off;
",
        max_body = plan.max_body,
        header = secs(plan.header_timeout),
        body = secs(plan.body_timeout),
        keepalive = secs(plan.keepalive),
    );
    if !plan.outer_proxies.is_empty() {
        out.push_str("\n    # Load balancers in front of nginx (KEEL_TRUSTED_PROXIES): their\n    # X-Forwarded-For names the client.\n");
        for proxy in &plan.outer_proxies {
            let _ = writeln!(out, "    set_real_ip_from {proxy};");
        }
        out.push_str("    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n");
    }
    static_locations(plan, &mut out);
    let _ = write!(
        out,
        "
    # Everything else goes to Keel. X-Forwarded-For is set, not appended, so
    # a client cannot forge it; Keel trusts it from 127.0.0.1 only
    # (KEEL_TRUSTED_PROXIES). A request moves to the next instance only when
    # connecting failed or timed out.
    location / {{
        proxy_pass http://keel;
        proxy_http_version 1.1;
        proxy_set_header Connection \"\";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Request-Id $request_id;
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 2;
        proxy_connect_timeout 2s;
        proxy_send_timeout {upload};
        proxy_read_timeout {upload};
    }}
}}
",
        upload = secs(plan.upload_timeout),
    );
    out
}

/// `/static/` from `KEEL_STATIC_ROOT` and the internal media location.
fn static_locations(plan: &Plan, out: &mut String) {
    if let Some(url) = &plan.static_url {
        let _ = write!(
            out,
            "
    # Static files, straight from KEEL_STATIC_ROOT (run `keel collectstatic`):
    # precompressed .gz siblings, and names with a content hash cached for a
    # year as immutable ($keel_static_cache, above).
    location {url} {{
        alias {root}/;
        gzip_static on;
        access_log off;
        add_header Cache-Control $keel_static_cache always;
{OWN_HEADERS}    }}
",
            root = plan.static_root.display(),
        );
    }
    if let (Some(accel), Some(root)) = (&plan.media_accel, &plan.media_root) {
        let _ = write!(
            out,
            "
    # Uploads, sent by nginx once Keel has authorized the download
    # (KEEL_MEDIA_ACCEL_REDIRECT): internal only, never executed, never
    # shown inline (Keel's Content-Disposition: attachment passes through).
    location {accel} {{
        internal;
        alias {root}/;
        types {{ }}
        default_type application/octet-stream;
        add_header Content-Security-Policy \"default-src 'none'; sandbox\" always;
{OWN_HEADERS}    }}
",
            root = root.display(),
        );
    }
}

//! Running the checks against a built core: the core's (declared in
//! `checks::registry`, found by the modules that own what they check) and
//! each app's.

use std::time::Duration;

use crate::app::App;
use crate::checks::registry::{self, Check};
use crate::checks::Finding;
use crate::core::Core;
use crate::db::migrate;

/// How long the database may take to answer a check.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs every check (the deploy checks too when `deploy`), core first, then
/// each app's; sorted by id.
pub async fn run(core: &Core, apps: &[Box<dyn App>], deploy: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    settings_checks(core, &mut findings);
    crate::checks::deploy::public_url_checks(&core.settings, &mut findings);
    findings.extend(crate::outbox::checks::findings(&core.settings));
    findings.extend(crate::checks::reports::findings(&core.settings));
    if deploy {
        findings.extend(crate::checks::deploy::deploy_checks(&core.settings));
    }
    if deploy && core.settings.profile == crate::settings::Profile::Prod {
        findings.extend(crate::staticfiles::manifest_finding(&core.settings.files));
    }
    let exempt: Vec<&str> = apps.iter().flat_map(|app| app.csrf_exempt().iter().copied()).collect();
    if !exempt.is_empty() {
        findings.push(Finding::new(
            &registry::CSRF_EXEMPTIONS,
            format!("CSRF token check skipped on: {}", exempt.join(", ")),
        ));
    }
    database_checks(core, apps, &mut findings).await;
    for app in apps {
        findings.extend(app.checks(core));
    }
    findings.retain(|f| deploy || !is_deploy_only(f.id, apps));
    sort(&mut findings);
    findings
}

/// By id, then by message: the order every report prints.
pub(super) fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| a.id.cmp(b.id).then_with(|| a.message.cmp(&b.message)));
}

fn is_deploy_only(id: &str, apps: &[Box<dyn App>]) -> bool {
    registry::ALL
        .iter()
        .chain(apps.iter().flat_map(|app| app.check_list().iter()))
        .any(|check: &&Check| check.id == id && check.deploy)
}

fn settings_checks(core: &Core, findings: &mut Vec<Finding>) {
    for name in &core.settings.unknown_variables {
        findings.push(Finding::new(
            &registry::SETTINGS_UNKNOWN_VARIABLE,
            format!("{name} is set but is not a Keel setting"),
        ));
    }
}

async fn database_checks(core: &Core, apps: &[Box<dyn App>], findings: &mut Vec<Finding>) {
    let all = match super::all_migrations(apps) {
        Ok(all) => all,
        Err(err) => {
            findings.push(Finding::new(&registry::DB_MIGRATIONS_INVALID, err.to_string()));
            return;
        }
    };
    match tokio::time::timeout(DB_CHECK_TIMEOUT, migrate::pending(&core.db, &all)).await {
        Ok(Ok(pending)) if pending.is_empty() => {}
        Ok(Ok(pending)) => {
            let names: Vec<&str> = pending.iter().map(|m| m.name).collect();
            findings.push(Finding::new(
                &registry::DB_UNAPPLIED_MIGRATIONS,
                format!("{} unapplied migration(s): {}", names.len(), names.join(", ")),
            ));
        }
        Ok(Err(err)) if !err.is_unavailable() && !matches!(err, crate::db::DbError::Query(_)) => {
            findings.push(Finding::new(&registry::DB_MIGRATIONS_INVALID, err.to_string()));
        }
        Ok(Err(err)) => findings.push(Finding::new(
            &registry::DB_UNREACHABLE,
            format!(
                "the {} database did not answer: {}",
                core.db.backend().as_str(),
                err_kind(&err)
            ),
        )),
        Err(_) => findings.push(Finding::new(
            &registry::DB_UNREACHABLE,
            format!(
                "the {} database did not answer within {}s",
                core.db.backend().as_str(),
                DB_CHECK_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// A short reason that never includes the URL (it may hold a password).
fn err_kind(err: &crate::db::DbError) -> String {
    match err {
        crate::db::DbError::Query(sqlx::Error::Io(io)) => io.kind().to_string(),
        crate::db::DbError::Query(sqlx::Error::PoolTimedOut) => "timed out waiting for a connection".to_owned(),
        crate::db::DbError::Query(sqlx::Error::Database(db)) => db.message().to_owned(),
        other => other.to_string(),
    }
}

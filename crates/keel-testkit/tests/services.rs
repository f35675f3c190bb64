//! The harness's rule for missing services: skip with a printed reason, or
//! fail when `KEEL_TEST_REQUIRE_SERVICES=1`. One test, because it changes
//! this process's environment.

#[tokio::test]
async fn missing_services_are_skipped_or_fail_when_required() {
    // SAFETY of env mutation: this file holds a single test, so no other
    // thread of this process reads the environment meanwhile.
    std::env::set_var("KEEL_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:1/test");
    std::env::set_var("KEEL_TEST_CACHE_URL", "redis://127.0.0.1:1");
    std::env::remove_var("KEEL_TEST_REQUIRE_SERVICES");
    assert!(
        !keel_testkit::services::postgres_available().await,
        "a dead PostgreSQL is skipped"
    );
    assert!(keel_testkit::redis_url().await.is_none(), "a dead Redis is skipped");

    std::env::set_var("KEEL_TEST_REQUIRE_SERVICES", "1");
    let required = tokio::spawn(keel_testkit::services::postgres_available()).await;
    assert!(
        required.is_err(),
        "a dead PostgreSQL fails the run when services are required"
    );
    let required = tokio::spawn(keel_testkit::redis_url()).await;
    assert!(
        required.is_err(),
        "a dead Redis fails the run when services are required"
    );
}

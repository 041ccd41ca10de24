//! The conformance suite for the OPPO adapter.
//!
//! The harness (hooks, every case listed, none left out) is
//! `adapters/oppo/tests/conformance/harness.rs`. It needs `pushgate-oppo` as a
//! dev-dependency of this crate, which testkit/Cargo.toml does not have yet, so the cases run
//! from the adapter's crate today (`cargo test -p pushgate-oppo --test conformance`). Once
//! the dev-dependency is added, delete the `cfg` line below and the cases run here too.

#[cfg(any())]
#[path = "../../../adapters/oppo/tests/conformance/harness.rs"]
mod harness;

/// Says where the OPPO cases run, so `cargo test --test conformance oppo` never passes
/// silently with nothing behind it.
#[test]
fn oppo_cases_run_from_the_adapter_crate_until_testkit_depends_on_pushgate_oppo() {
    let harness = include_str!("../../../adapters/oppo/tests/conformance/harness.rs");
    for case in [
        "success",
        "mixed_batch_results",
        "unregistered_token_is_invalid",
        "oversized_payload_is_rejected_without_a_request",
        "malformed_payload_is_rejected_without_a_request",
        "rate_limited_with_retry_after",
        "server_error_is_retry",
        "expired_auth_refreshes_exactly_once",
        "timeout_is_retry",
        "no_secrets_in_outcomes_or_debug",
    ] {
        assert!(
            harness.contains(&format!("    {case},\n")),
            "the OPPO harness lists {case}"
        );
    }
}

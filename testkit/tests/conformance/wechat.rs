//! WeChat: the conformance cases run from adapters/wechat/tests/conformance.rs
//! (`cargo test -p pushgate-wechat --test conformance`), for both the `wechat_oa` and the
//! `wechat_mp` channel, because this crate's Cargo.toml has no `pushgate-wechat`
//! dev-dependency yet. Once it has (`pushgate-wechat.workspace = true` under
//! `[dev-dependencies]`), that file's hooks and harness move here unchanged.

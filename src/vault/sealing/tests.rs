use super::*;
use crate::vault::samples::all_secrets;
use push_core::Secret;

fn vault() -> Vault {
    Vault::new(Keyring::new(MasterKey::generate().unwrap(), Vec::new()))
}

fn wechat() -> CredentialSecret {
    CredentialSecret::WechatAppSecret {
        app_id: "wx1234567890abcdef".into(),
        app_secret: Secret::new("0123456789abcdef-TOPSECRET"),
    }
}

#[test]
fn every_kind_round_trips() {
    let vault = vault();
    for secret in all_secrets() {
        let id = Uuid::new_v4();
        let sealed = vault.seal(id, "chat-prod", Channel::Fcm, &secret).unwrap();
        assert_eq!(sealed.kek_id, vault.current_key_id());
        let opened = vault.open(id, "chat-prod", Channel::Fcm, &sealed).unwrap();
        assert_eq!(opened, secret);
    }
}

#[test]
fn ciphertext_does_not_contain_the_secret_and_differs_per_seal() {
    let vault = vault();
    let id = Uuid::new_v4();
    let a = vault.seal(id, "app", Channel::WechatOa, &wechat()).unwrap();
    let b = vault.seal(id, "app", Channel::WechatOa, &wechat()).unwrap();
    assert_ne!(a.ciphertext, b.ciphertext);
    assert_ne!(a.wrapped_dek, b.wrapped_dek);
    assert!(!a.ciphertext.windows(9).any(|w| w == b"TOPSECRET"));
    assert_eq!(a.wrapped_dek.len(), 12 + 32 + 16);
}

#[test]
fn a_different_id_app_or_channel_fails() {
    let vault = vault();
    let id = Uuid::new_v4();
    let sealed = vault.seal(id, "app", Channel::WechatOa, &wechat()).unwrap();
    for (id, app, channel) in [
        (Uuid::new_v4(), "app", Channel::WechatOa),
        (id, "other-app", Channel::WechatOa),
        (id, "app", Channel::WechatMp),
    ] {
        let err = vault.open(id, app, channel, &sealed).unwrap_err();
        assert!(matches!(err, VaultError::Decrypt), "{err:?}");
    }
}

#[test]
fn a_flipped_bit_anywhere_fails() {
    let vault = vault();
    let id = Uuid::new_v4();
    let sealed = vault.seal(id, "app", Channel::Huawei, &wechat()).unwrap();
    for i in 0..sealed.wrapped_dek.len() {
        let mut bad = sealed.clone();
        bad.wrapped_dek[i] ^= 0x01;
        assert!(matches!(
            vault.open(id, "app", Channel::Huawei, &bad),
            Err(VaultError::Decrypt)
        ));
    }
    for i in 0..sealed.ciphertext.len() {
        let mut bad = sealed.clone();
        bad.ciphertext[i] ^= 0x80;
        assert!(matches!(
            vault.open(id, "app", Channel::Huawei, &bad),
            Err(VaultError::Decrypt)
        ));
    }
    let mut short = sealed.clone();
    short.ciphertext.truncate(10);
    assert!(matches!(
        vault.open(id, "app", Channel::Huawei, &short),
        Err(VaultError::Decrypt)
    ));
}

#[test]
fn swapped_wrapped_keys_fail() {
    let vault = vault();
    let (id1, id2) = (Uuid::new_v4(), Uuid::new_v4());
    let one = vault.seal(id1, "app", Channel::Oppo, &wechat()).unwrap();
    let two = vault.seal(id2, "app", Channel::Oppo, &wechat()).unwrap();
    let mixed = SealedCredential {
        wrapped_dek: two.wrapped_dek.clone(),
        ..one.clone()
    };
    assert!(matches!(
        vault.open(id1, "app", Channel::Oppo, &mixed),
        Err(VaultError::Decrypt)
    ));
}

#[test]
fn unknown_key_id_is_named() {
    let sealer = vault();
    let other = vault();
    let id = Uuid::new_v4();
    let sealed = sealer.seal(id, "app", Channel::Vivo, &wechat()).unwrap();
    let err = other.open(id, "app", Channel::Vivo, &sealed).unwrap_err();
    match &err {
        VaultError::UnknownKey(kek) => assert_eq!(kek, sealer.current_key_id()),
        other => panic!("expected UnknownKey, got {other:?}"),
    }
    assert!(err.to_string().contains(sealer.current_key_id()));
    let mut forged = sealed.clone();
    forged.kek_id = other.current_key_id().to_string();
    assert!(matches!(
        other.open(id, "app", Channel::Vivo, &forged),
        Err(VaultError::Decrypt)
    ));
}

#[test]
fn older_keys_open_and_rewrap_moves_to_the_current_key() {
    let old = MasterKey::generate().unwrap();
    let old_b64 = old.to_base64();
    let old_vault = Vault::new(Keyring::new(old, Vec::new()));
    let id = Uuid::new_v4();
    let secret = wechat();
    let sealed = old_vault
        .seal(id, "app", Channel::WechatMp, &secret)
        .unwrap();

    let new = MasterKey::generate().unwrap();
    let new_id = new.id().to_string();
    let rotated = Vault::new(Keyring::new(
        new,
        vec![MasterKey::from_base64(&old_b64).unwrap()],
    ));
    assert_eq!(rotated.current_key_id(), new_id);
    assert_eq!(
        rotated.open(id, "app", Channel::WechatMp, &sealed).unwrap(),
        secret
    );

    let rewrapped = rotated.rewrap(id, &sealed).unwrap();
    assert_eq!(rewrapped.kek_id, new_id);
    assert_eq!(
        rewrapped.ciphertext, sealed.ciphertext,
        "ciphertext untouched"
    );
    assert_ne!(rewrapped.wrapped_dek, sealed.wrapped_dek);
    assert_eq!(
        rotated
            .open(id, "app", Channel::WechatMp, &rewrapped)
            .unwrap(),
        secret
    );
    // The old key alone can no longer open it.
    assert!(matches!(
        old_vault.open(id, "app", Channel::WechatMp, &rewrapped),
        Err(VaultError::UnknownKey(_))
    ));
    // Rewrap is bound to the id too.
    assert!(matches!(
        rotated.rewrap(Uuid::new_v4(), &sealed),
        Err(VaultError::Decrypt)
    ));
}

#[test]
fn debug_of_vault_and_errors_shows_no_key_or_secret() {
    let key = MasterKey::generate().unwrap();
    let b64 = key.to_base64();
    let vault = Vault::new(Keyring::new(key, Vec::new()));
    let shown = format!("{vault:?}");
    assert!(
        shown.contains(vault.current_key_id()) && !shown.contains(b64.as_str()),
        "{shown}"
    );
    let id = Uuid::new_v4();
    let sealed = vault.seal(id, "app", Channel::Xiaomi, &wechat()).unwrap();
    let err = vault
        .open(id, "other", Channel::Xiaomi, &sealed)
        .unwrap_err();
    let shown = format!("{err:?} {err}");
    assert!(
        !shown.contains("TOPSECRET") && !shown.contains(b64.as_str()),
        "{shown}"
    );
}

#[test]
fn other_secrets_round_trip_only_as_what_they_were_sealed_as() {
    let vault = vault();
    let id = Uuid::new_v4();
    let secret = Secret::new("hs256-client-secret-of-32-bytes!!");
    let sealed = vault
        .seal_secret(id, "online-client-key", "chat-prod", &secret)
        .unwrap();
    assert!(
        !sealed
            .ciphertext
            .windows(8)
            .any(|w| w == &secret.expose().as_bytes()[..8])
    );
    let opened = vault
        .open_secret(id, "online-client-key", "chat-prod", &sealed)
        .unwrap();
    assert_eq!(opened.expose(), secret.expose());
    for (id, purpose, owner) in [
        (Uuid::new_v4(), "online-client-key", "chat-prod"),
        (id, "other-purpose", "chat-prod"),
        (id, "online-client-key", "other-app"),
    ] {
        assert!(vault.open_secret(id, purpose, owner, &sealed).is_err());
    }
    // A rewrap under a new master key keeps it readable.
    let next = Vault::new(Keyring::new(
        MasterKey::generate().unwrap(),
        vec![MasterKey::from_base64(&vault.keyring().current().to_base64()).unwrap()],
    ));
    let rewrapped = next.rewrap(id, &sealed).unwrap();
    let reopened = next
        .open_secret(id, "online-client-key", "chat-prod", &rewrapped)
        .unwrap();
    assert_eq!(reopened.expose(), secret.expose());
}

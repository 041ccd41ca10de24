use super::*;
use std::fs;

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn id_of(b64: &str) -> String {
    MasterKey::from_base64(b64).unwrap().id().to_string()
}

#[test]
fn config_key_wins_over_generation() {
    let dir = tempfile::tempdir().unwrap();
    let (ring, source) = load_keyring(Some(KEY_A), None, Some(dir.path())).unwrap();
    assert_eq!(source, MasterKeySource::Config);
    assert_eq!(ring.current().id(), id_of(KEY_A));
    assert!(!dir.path().join(GENERATED_KEY_FILE).exists());
}

#[test]
fn config_may_list_older_keys() {
    let (ring, _) = load_keyring(Some(&format!("{KEY_A},{KEY_B}")), None, None).unwrap();
    assert_eq!(ring.current().id(), id_of(KEY_A));
    assert_eq!(ring.older().len(), 1);
    assert_eq!(ring.older()[0].id(), id_of(KEY_B));
}

#[test]
fn file_key_ignores_surrounding_whitespace_and_takes_newline_lists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    fs::write(&path, format!("\n  {KEY_B}\n{KEY_A}\n\n")).unwrap();
    let (ring, source) = load_keyring(None, Some(&path), None).unwrap();
    assert_eq!(source, MasterKeySource::File(path));
    assert_eq!(ring.current().id(), id_of(KEY_B));
    assert_eq!(ring.older()[0].id(), id_of(KEY_A));
}

#[test]
fn generates_once_then_reuses() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").join("nested");
    let (first, source) = load_keyring(None, None, Some(&data)).unwrap();
    let path = data.join(GENERATED_KEY_FILE);
    assert_eq!(source, MasterKeySource::Generated(path.clone()));
    assert!(path.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    let written = fs::read_to_string(&path).unwrap();
    assert_eq!(id_of(written.trim()), first.current().id());

    let (second, source) = load_keyring(None, None, Some(&data)).unwrap();
    assert_eq!(source, MasterKeySource::ExistingGenerated(path.clone()));
    assert_eq!(second.current().id(), first.current().id());
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        written,
        "never overwritten"
    );
}

#[test]
fn a_broken_generated_file_is_reported_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(GENERATED_KEY_FILE);
    fs::write(&path, "AAAA\n").unwrap();
    let err = load_keyring(None, None, Some(dir.path())).unwrap_err();
    assert!(
        matches!(err, VaultError::WrongLength { len: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "AAAA\n");
}

#[test]
fn bad_base64_is_reported_without_the_text() {
    let text = "this-is-not-base64-but-a-secret!";
    let err = load_keyring(Some(text), None, None).unwrap_err();
    assert!(
        matches!(err, VaultError::NotBase64 { entry: 1, .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("master_key") && !shown.contains(text),
        "{shown}"
    );
}

#[test]
fn wrong_length_says_how_long() {
    let short = "c2hvcnQtc2VjcmV0LWtleQ=="; // 16 bytes
    let err = load_keyring(Some(short), None, None).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::WrongLength {
                len: 16,
                entry: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("16 bytes instead of 32") && !shown.contains(short),
        "{shown}"
    );
}

#[test]
fn both_sources_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    fs::write(&path, KEY_A).unwrap();
    let err = load_keyring(Some(KEY_B), Some(&path), None).unwrap_err();
    assert!(matches!(err, VaultError::ConflictingSources), "{err:?}");
}

#[test]
fn nothing_configured_and_no_data_dir_is_no_master_key() {
    let err = load_keyring(None, None, None).unwrap_err();
    assert!(matches!(err, VaultError::NoMasterKey), "{err:?}");
}

#[test]
fn empty_setting_is_an_error() {
    let err = load_keyring(Some(" \n"), None, None).unwrap_err();
    assert!(matches!(err, VaultError::EmptyKeyList { .. }), "{err:?}");
}

#[test]
fn unreadable_file_names_path_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.key");
    let err = load_keyring(None, Some(&path), None).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::Io {
                kind: io::ErrorKind::NotFound,
                action: "read",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(shown.contains(&path.display().to_string()), "{shown}");
}

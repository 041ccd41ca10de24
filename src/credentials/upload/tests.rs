use super::*;
use push_core::CredentialKind;
use serde_json::json;

fn p8_pem() -> String {
    let mut der = vec![0x30, 0x81, 0x87, 0x02, 0x01, 0x00];
    der.extend(b"P8-KEY-SECRET-MATERIAL-0123456789");
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    )
}

/// A fake .p12: DER-looking bytes that are not UTF-8.
fn p12_der() -> Vec<u8> {
    let mut der = vec![0x30, 0x82, 0x01, 0x00];
    der.extend(b"P12-SECRET-CONTENT");
    der
}

fn service_account() -> serde_json::Value {
    json!({
        "type": "service_account",
        "project_id": "chat-prod-1234",
        "private_key_id": "abc123",
        "private_key": p8_pem(),
        "client_email": "push@chat-prod-1234.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
}

fn service_account_without(field: &str) -> String {
    let mut sa = service_account();
    sa.as_object_mut().unwrap().remove(field);
    sa.to_string()
}

fn fields(pairs: &[(&str, &[u8])]) -> UploadFields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

enum Want {
    Ok(CredentialKind),
    Err(&'static str, Option<&'static str>),
}

fn variant(err: &UploadError) -> &'static str {
    match err {
        UploadError::NotAnObject => "NotAnObject",
        UploadError::WrongType { .. } => "WrongType",
        UploadError::UnknownFields { .. } => "UnknownFields",
        UploadError::Missing { .. } => "Missing",
        UploadError::Empty { .. } => "Empty",
        UploadError::TooLarge { .. } => "TooLarge",
        UploadError::NotUtf8 { .. } => "NotUtf8",
        UploadError::Invalid { .. } => "Invalid",
        UploadError::InvalidJson { .. } => "InvalidJson",
        UploadError::Conflict { .. } => "Conflict",
        UploadError::ApnsBothKinds => "ApnsBothKinds",
        UploadError::ApnsNoKind => "ApnsNoKind",
    }
}

#[test]
fn uploads_by_channel() {
    let pem = p8_pem();
    let p12 = p12_der();
    let p12_b64 = STANDARD.encode(&p12);
    let sa = service_account().to_string();
    let big = vec![b'a'; MAX_FIELD_BYTES + 1];
    let rsa_pem = pem.replace("PRIVATE KEY", "RSA PRIVATE KEY");
    let bad_body_pem = "-----BEGIN PRIVATE KEY-----\n!!not*base64!!\n-----END PRIVATE KEY-----";
    let sa_no_project = service_account_without("project_id");
    let sa_http_uri = {
        let mut v = service_account();
        v["token_uri"] = json!("ftp://example.com/token");
        v.to_string()
    };
    let sa_wrong_type = {
        let mut v = service_account();
        v["type"] = json!("authorized_user");
        v.to_string()
    };
    let sa_bad_key = {
        let mut v = service_account();
        v["private_key"] = json!("MY-SECRET-NOT-A-PEM");
        v.to_string()
    };
    use Channel::*;
    use CredentialKind as K;
    #[rustfmt::skip]
    let rows: Vec<(&str, Channel, UploadFields, Want)> = vec![
        // valid, one per channel (and both APNs kinds, p12 raw and base64)
        ("apns p8", Apns, fields(&[("key_id", b"ABC123DEFG"), ("team_id", b" TEAM123456\n"), ("private_key", pem.as_bytes())]), Want::Ok(K::ApnsP8)),
        ("apns p12 raw", Apns, fields(&[("certificate", &p12), ("password", b"p12-SECRET-pw")]), Want::Ok(K::ApnsP12)),
        ("apns p12 b64", Apns, fields(&[("certificate", p12_b64.as_bytes()), ("password", b"")]), Want::Ok(K::ApnsP12)),
        ("apns p12 b64 field", Apns, fields(&[("certificate_base64", p12_b64.as_bytes()), ("password", b"pw")]), Want::Ok(K::ApnsP12)),
        ("fcm", Fcm, fields(&[("service_account", sa.as_bytes())]), Want::Ok(K::FcmServiceAccount)),
        ("huawei", Huawei, fields(&[("app_id", b"104412345"), ("app_secret", b"huawei-SECRET-0123")]), Want::Ok(K::HuaweiOauth)),
        ("honor", Honor, fields(&[("app_id", b"104400000"), ("client_id", b"client-1"), ("client_secret", b"honor-SECRET-0123")]), Want::Ok(K::HonorOauth)),
        ("xiaomi", Xiaomi, fields(&[("app_secret", b"xiaomi-SECRET-0123=="), ("package_name", b"com.example.chat")]), Want::Ok(K::XiaomiAppSecret)),
        ("oppo", Oppo, fields(&[("app_key", b"oppokey123"), ("master_secret", b"oppo-SECRET-0123")]), Want::Ok(K::OppoMasterSecret)),
        ("vivo", Vivo, fields(&[("app_id", b"105500000"), ("app_key", b"vivo-key-1"), ("app_secret", b"vivo-SECRET-0123")]), Want::Ok(K::VivoAppSecret)),
        ("wechat oa", WechatOa, fields(&[("app_id", b"wx1234567890abcdef"), ("app_secret", b"0123456789abcdef0123456789SECRET")]), Want::Ok(K::WechatAppSecret)),
        ("wechat mp", WechatMp, fields(&[("app_id", b"wxabcdef1234567890"), ("app_secret", b"abcdef0123456789abcdef01234SECRET")]), Want::Ok(K::WechatAppSecret)),
        // failures
        ("missing field", Huawei, fields(&[("app_id", b"104412345")]), Want::Err("Missing", Some("app_secret"))),
        ("missing p12 password", Apns, fields(&[("certificate", &p12)]), Want::Err("Missing", Some("password"))),
        ("missing p8 team", Apns, fields(&[("key_id", b"ABC123DEFG"), ("private_key", pem.as_bytes())]), Want::Err("Missing", Some("team_id"))),
        ("unknown field", Oppo, fields(&[("app_key", b"k1"), ("master_secret", b"oppo-SECRET-0123"), ("app_secret", b"oppo-SECRET-0123")]), Want::Err("UnknownFields", Some("app_secret"))),
        ("empty field", Vivo, fields(&[("app_id", b"1"), ("app_key", b" \n"), ("app_secret", b"vivo-SECRET-0123")]), Want::Err("Empty", Some("app_key"))),
        ("too large", Xiaomi, fields(&[("app_secret", &big), ("package_name", b"com.example.chat")]), Want::Err("TooLarge", Some("app_secret"))),
        ("not utf-8", Huawei, fields(&[("app_id", b"1"), ("app_secret", b"\xff\xfeSECRET")]), Want::Err("NotUtf8", Some("app_secret"))),
        ("p8 not pem", Apns, fields(&[("key_id", b"ABC123DEFG"), ("team_id", b"TEAM123456"), ("private_key", b"MY-SECRET-NOT-A-PEM")]), Want::Err("Invalid", Some("private_key"))),
        ("p8 wrong label", Apns, fields(&[("key_id", b"ABC123DEFG"), ("team_id", b"TEAM123456"), ("private_key", rsa_pem.as_bytes())]), Want::Err("Invalid", Some("private_key"))),
        ("p8 bad body", Apns, fields(&[("key_id", b"ABC123DEFG"), ("team_id", b"TEAM123456"), ("private_key", bad_body_pem.as_bytes())]), Want::Err("Invalid", Some("private_key"))),
        ("p8 bad key id", Apns, fields(&[("key_id", b"ABC-123"), ("team_id", b"TEAM123456"), ("private_key", pem.as_bytes())]), Want::Err("Invalid", Some("key_id"))),
        ("p12 bad base64", Apns, fields(&[("certificate_base64", b"MII*SECRET*%%"), ("password", b"pw")]), Want::Err("Invalid", Some("certificate_base64"))),
        ("p12 empty base64", Apns, fields(&[("certificate", b"  "), ("password", b"pw")]), Want::Err("Empty", Some("certificate"))),
        ("p12 not der", Apns, fields(&[("certificate", b"aGVsbG8gU0VDUkVU"), ("password", b"pw")]), Want::Err("Invalid", Some("certificate"))),
        ("p12 pem", Apns, fields(&[("certificate", pem.as_bytes()), ("password", b"pw")]), Want::Err("Invalid", Some("certificate"))),
        ("p12 both fields", Apns, fields(&[("certificate", &p12), ("certificate_base64", p12_b64.as_bytes()), ("password", b"pw")]), Want::Err("Conflict", Some("certificate"))),
        ("p8 and p12", Apns, fields(&[("key_id", b"ABC123DEFG"), ("team_id", b"TEAM123456"), ("private_key", pem.as_bytes()), ("certificate", &p12), ("password", b"pw")]), Want::Err("ApnsBothKinds", None)),
        ("apns nothing", Apns, fields(&[]), Want::Err("ApnsNoKind", None)),
        ("sa no project_id", Fcm, fields(&[("service_account", sa_no_project.as_bytes())]), Want::Err("Missing", Some("service_account.project_id"))),
        ("sa not json", Fcm, fields(&[("service_account", b"{\"private_key\": \"MY-SECRET")]), Want::Err("InvalidJson", Some("service_account"))),
        ("sa not object", Fcm, fields(&[("service_account", b"[\"MY-SECRET\"]")]), Want::Err("Invalid", Some("service_account"))),
        ("sa wrong type", Fcm, fields(&[("service_account", sa_wrong_type.as_bytes())]), Want::Err("Invalid", Some("service_account.type"))),
        ("sa bad token uri", Fcm, fields(&[("service_account", sa_http_uri.as_bytes())]), Want::Err("Invalid", Some("service_account.token_uri"))),
        ("sa bad key", Fcm, fields(&[("service_account", sa_bad_key.as_bytes())]), Want::Err("Invalid", Some("service_account.private_key"))),
        ("huawei app id", Huawei, fields(&[("app_id", b"abc"), ("app_secret", b"huawei-SECRET-0123")]), Want::Err("Invalid", Some("app_id"))),
        ("wechat app id", WechatOa, fields(&[("app_id", b"1234567890abcdef"), ("app_secret", b"0123456789abcdefSECRET")]), Want::Err("Invalid", Some("app_id"))),
        ("wechat secret spaces", WechatMp, fields(&[("app_id", b"wx12345"), ("app_secret", b"abc SECRET def")]), Want::Err("Invalid", Some("app_secret"))),
        ("package name", Xiaomi, fields(&[("app_secret", b"xiaomi-SECRET"), ("package_name", b"chat")]), Want::Err("Invalid", Some("package_name"))),
    ];
    for (name, channel, fields, want) in rows {
        let got = parse_upload(channel, &fields);
        match (want, got) {
            (Want::Ok(kind), Ok(secret)) => {
                assert_eq!(secret.kind(), kind, "{name}");
                assert!(kind.serves(channel), "{name}");
            }
            (Want::Err(want_variant, want_field), Err(err)) => {
                assert_eq!(variant(&err), want_variant, "{name}: {err}");
                assert_eq!(err.field(), want_field, "{name}: {err}");
                let shown = format!("{err} | {err:?}");
                assert!(!shown.contains("SECRET"), "{name}: {shown}");
                for value in fields.values() {
                    let text = String::from_utf8_lossy(value);
                    let text = text.trim();
                    if text.len() >= 4 {
                        assert!(!shown.contains(text), "{name} echoes a value: {shown}");
                    }
                }
            }
            (Want::Ok(_), Err(err)) => panic!("{name}: expected success, got {err}"),
            (Want::Err(v, _), Ok(secret)) => {
                panic!("{name}: expected {v}, got {:?}", secret.kind())
            }
        }
    }
}

#[test]
fn identifiers_are_trimmed_and_documents_kept_as_given() {
    let pem = p8_pem();
    let padded = format!("\n{pem}\n\n");
    let got = parse_upload(
        Channel::Apns,
        &fields(&[
            ("key_id", b" ABC123DEFG "),
            ("team_id", b"TEAM123456\r\n"),
            ("private_key", padded.as_bytes()),
        ]),
    )
    .unwrap();
    let CredentialSecret::ApnsP8 {
        key_id,
        team_id,
        private_key,
    } = got
    else {
        panic!("not p8");
    };
    assert_eq!(
        (key_id.as_str(), team_id.as_str()),
        ("ABC123DEFG", "TEAM123456")
    );
    assert_eq!(private_key.expose(), padded);

    let got = parse_upload(
        Channel::Huawei,
        &fields(&[("app_id", b"104412345"), ("app_secret", b"huawei-secret\n")]),
    )
    .unwrap();
    let CredentialSecret::HuaweiOauth { app_secret, .. } = got else {
        panic!("not huawei")
    };
    assert_eq!(app_secret.expose(), "huawei-secret");
}

#[test]
fn p12_is_stored_as_base64_of_its_bytes_with_password_verbatim() {
    let der = p12_der();
    let wrapped = {
        let b64 = STANDARD.encode(&der);
        let (a, b) = b64.split_at(8);
        format!("{a}\n{}\n", b.trim_end_matches('='))
    };
    for cert in [der.clone(), wrapped.into_bytes()] {
        let got = parse_upload(
            Channel::Apns,
            &fields(&[("certificate", &cert), ("password", b" pass word ")]),
        )
        .unwrap();
        let CredentialSecret::ApnsP12 {
            pkcs12_base64,
            password,
        } = got
        else {
            panic!("not p12")
        };
        assert_eq!(pkcs12_base64.expose(), STANDARD.encode(&der));
        assert_eq!(password.expose(), " pass word ");
    }
}

#[test]
fn fcm_keeps_the_original_text() {
    let text = format!(
        "  {}\n",
        serde_json::to_string_pretty(&service_account()).unwrap()
    );
    let got = parse_upload(
        Channel::Fcm,
        &fields(&[("service_account", text.as_bytes())]),
    )
    .unwrap();
    let CredentialSecret::FcmServiceAccount {
        service_account_json,
    } = got
    else {
        panic!("not fcm")
    };
    assert_eq!(service_account_json.expose(), text);
}

#[test]
fn json_bodies_become_fields() {
    let body = json!({
        "service_account": service_account(),
        "app_id": 104412345,
        "list": [1, 2],
        "text": "plain",
    });
    let got = fields_from_json(&body).unwrap();
    assert_eq!(got["app_id"], b"104412345");
    assert_eq!(got["text"], b"plain");
    assert_eq!(got["list"], b"[1,2]");
    let sa: serde_json::Value = serde_json::from_slice(&got["service_account"]).unwrap();
    assert_eq!(sa, service_account());

    let inline = fields_from_json(&json!({ "service_account": service_account() })).unwrap();
    assert!(parse_upload(Channel::Fcm, &inline).is_ok());
}

#[test]
fn json_bodies_of_the_wrong_shape_are_refused() {
    let err = fields_from_json(&json!(["SECRET"])).unwrap_err();
    assert!(matches!(err, UploadError::NotAnObject) && err.field().is_none());
    for value in [json!(true), json!(null), json!(1.5)] {
        let err = fields_from_json(&json!({ "app_secret": value })).unwrap_err();
        assert!(matches!(err, UploadError::WrongType { .. }), "{err:?}");
        assert_eq!(err.field(), Some("app_secret"));
    }
}

#[test]
fn unknown_field_names_are_cut_and_all_listed() {
    let long = "x".repeat(500);
    let err = parse_upload(
        Channel::Oppo,
        &fields(&[
            ("app_key", b"k"),
            ("master_secret", b"s"),
            (long.as_str(), b"v"),
            ("extra", b"v"),
        ]),
    )
    .unwrap_err();
    let UploadError::UnknownFields { fields, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(fields.len(), 2);
    assert!(fields.iter().all(|f| f.len() <= 64));
    let shown = err.to_string();
    assert!(
        shown.contains("\"extra\"") && shown.contains("accepted: app_key, master_secret"),
        "{shown}"
    );
}

//! Template value rules per key type (wechat.md §4.3), as WeChat checks them: a value that
//! breaks its key's rule (or is empty) is `47003 argument invalid! data.<key>.value invalid`.

/// Whether `value` is acceptable for template key `key` (`thing3`, `time2`, `keyword1`…).
pub(crate) fn value_ok(key: &str, value: &str) -> bool {
    if value.trim().is_empty() {
        return false;
    }
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let n = value.chars().count();
    let symbol = |c: char| !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control();
    let han =
        |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c);
    match kind {
        "thing" => n <= 20,
        "number" => number(value, 32),
        "letter" => n <= 32 && value.chars().all(|c| c.is_ascii_alphabetic()),
        "symbol" => n <= 5 && value.chars().all(symbol),
        "character_string" => n <= 32 && value.chars().all(|c| c.is_ascii_graphic()),
        "time" | "date" => {
            value.chars().any(|c| c.is_ascii_digit())
                && value.chars().all(|c| {
                    c.is_ascii_digit()
                        || matches!(
                            c,
                            ':' | '-' | '/' | '.' | ' ' | '~' | '年' | '月' | '日' | 'T'
                        )
                })
        }
        "amount" => {
            let v = value.strip_suffix('元').unwrap_or(value);
            let v = match v.chars().next() {
                Some(c) if !c.is_ascii_digit() && c != '.' && c != '-' => &v[c.len_utf8()..],
                _ => v,
            };
            number(v, 10)
        }
        "phone_number" => n <= 17 && value.chars().all(|c| c.is_ascii_digit() || symbol(c)),
        "car_number" => n <= 8,
        "name" => {
            if !value.is_ascii() {
                n <= 10
            } else {
                n <= 20
            }
        }
        "phrase" => n <= 5 && value.chars().all(han),
        _ => true,
    }
}

/// Digits with an optional sign and decimal part; at most `max` digits.
fn number(value: &str, max: usize) -> bool {
    let v = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (v, None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    digits(int) && frac.is_none_or(digits) && v.chars().filter(char::is_ascii_digit).count() <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_the_key_type() {
        for (k, v) in [
            ("thing1", "二十个字以内"),
            ("thing1", "字字字字字字字字字字字字字字字字字字字字"),
            ("number2", "-12.5"),
            ("letter3", "abc"),
            ("symbol4", "%$"),
            ("character_string5", "A1-b"),
            ("time6", "2019年10月1日 15:01"),
            ("date7", "2024-01-11~2024-01-12"),
            ("amount8", "$9.99"),
            ("amount8", "100元"),
            ("phone_number9", "+86-0766-66888866"),
            ("car_number10", "粤A8Z888"),
            ("name11", "Alice"),
            ("phrase12", "已完成"),
            ("keyword1", "anything"),
        ] {
            assert!(value_ok(k, v), "{k} {v}");
        }
        for (k, v) in [
            ("thing1", "字字字字字字字字字字字字字字字字字字字字字"),
            ("thing1", ""),
            ("number2", "1e5"),
            ("letter3", "ab1"),
            ("symbol4", "abc"),
            ("character_string5", "a b"),
            ("time6", "noon"),
            ("amount8", "$12345678901"),
            ("phone_number9", "call me"),
            ("car_number10", "123456789"),
            ("name11", "张三丰张三丰张三丰张三"),
            ("phrase12", "done"),
            ("keyword1", "  "),
        ] {
            assert!(!value_ok(k, v), "{k} {v}");
        }
    }
}

//! proto3-JSON helpers for FCM request validation: snake_case / lowerCamelCase field lookup
//! (`null` is absent), unknown-field and type errors in Google's wording, `Duration` strings.

use serde_json::{Map, Value};

use super::error::FcmFailure;

/// A proto3 JSON `Duration` (`"3.5s"`, `"-1s"`), whole seconds rounded toward zero.
pub(super) fn parse_duration(v: &Value) -> Option<i64> {
    let s = v.as_str()?.strip_suffix('s')?;
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let digit_ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digit_ok(whole) || !digit_ok(frac) || frac.len() > 9 {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    Some(if neg { -secs } else { secs })
}

/// A field by its snake_case name, also found under its lowerCamelCase name; `null` is absent.
pub(super) fn field<'a>(m: &'a Map<String, Value>, snake: &str) -> Option<&'a Value> {
    m.get(snake)
        .or_else(|| m.get(&camel(snake)))
        .filter(|v| !v.is_null())
}

pub(super) fn field_of<'a>(v: &'a Value, snake: &str) -> Option<&'a Value> {
    v.as_object().and_then(|m| field(m, snake))
}

pub(super) fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn known_fields(
    m: &Map<String, Value>,
    path: &str,
    known: &[&str],
) -> Result<(), FcmFailure> {
    let Some(unknown) = m
        .keys()
        .find(|k| !known.iter().any(|f| *f == k.as_str() || camel(f) == **k))
    else {
        return Ok(());
    };
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" at '{path}'")
    };
    Err(FcmFailure::parse(
        path,
        format!(
            "Invalid JSON payload received. Unknown name \"{unknown}\"{at}: Cannot find field."
        ),
    ))
}

pub(super) fn bad_value(path: &str, type_name: &str, v: &Value) -> FcmFailure {
    FcmFailure::parse(
        path,
        format!("Invalid value at '{path}' ({type_name}), {v}"),
    )
}

pub(super) fn object<'a>(
    v: &'a Value,
    path: &str,
    type_name: &str,
) -> Result<&'a Map<String, Value>, FcmFailure> {
    v.as_object().ok_or_else(|| bad_value(path, type_name, v))
}

pub(super) fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str, FcmFailure> {
    v.as_str().ok_or_else(|| bad_value(path, "TYPE_STRING", v))
}

pub(super) fn strings(
    m: &Map<String, Value>,
    path: &str,
    names: &[&str],
) -> Result<(), FcmFailure> {
    for n in names {
        if let Some(v) = field(m, n) {
            string(v, &format!("{path}.{n}"))?;
        }
    }
    Ok(())
}

/// A `map<string, string>`: an object whose values are strings (`data[i].value` names the
/// offending entry, entries in key order).
pub(super) fn string_map(v: &Value, path: &str) -> Result<(), FcmFailure> {
    let m = object(v, path, "type.googleapis.com/google.protobuf.Map")?;
    for (i, (_, value)) in m.iter().enumerate() {
        if !value.is_string() {
            return Err(bad_value(
                &format!("{path}[{i}].value"),
                "TYPE_STRING",
                value,
            ));
        }
    }
    Ok(())
}

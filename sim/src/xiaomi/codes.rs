//! MiPush result codes (xiaomi.md §6) and the answer bodies (§5): `{"result": "ok"|"error",
//! "code", "description" (Chinese), "reason" (English, errors), "info" and "data" (success),
//! "trace_id"}`, always HTTP 200 unless a fault says otherwise.

use serde_json::{Map, Value, json};

/// Success.
pub(crate) const SUCCESS: i64 = 0;
/// Unknown error.
pub(crate) const UNKNOWN: i64 = -1;
/// System error.
pub(crate) const SYSTEM_ERROR: i64 = 10001;
/// Service busy.
pub(crate) const BUSY: i64 = 10002;
/// Parameter error.
pub(crate) const PARAMETER_ERROR: i64 = 10008;
/// Required parameter missing.
pub(crate) const MISSING_PARAMETER: i64 = 10016;
/// Illegal parameter value.
pub(crate) const ILLEGAL_VALUE: i64 = 10017;
/// App on the blacklist.
pub(crate) const BLACKLISTED: i64 = 10031;
/// The app's daily request count is used up.
pub(crate) const DAILY_LIMIT: i64 = 10034;
/// Operation forbidden for the app.
pub(crate) const FORBIDDEN: i64 = 10036;
/// Send failed: no valid targets.
pub(crate) const NO_VALID_TARGETS: i64 = 20301;
/// Invalid application secret.
pub(crate) const BAD_SECRET: i64 = 21301;
/// Invalid package name.
pub(crate) const BAD_PACKAGE: i64 = 22022;
/// Channel information does not match.
pub(crate) const CHANNEL_MISMATCH: i64 = 27001;
/// Content too long.
pub(crate) const TOO_LONG: i64 = 65009;
/// Too many extra pairs.
pub(crate) const TOO_MANY_EXTRAS: i64 = 65014;
/// An extra value too long.
pub(crate) const EXTRA_TOO_LONG: i64 = 65015;
/// Callback parameter too long.
pub(crate) const CALLBACK_PARAM: i64 = 65036;
/// Callback URL too long or illegal.
pub(crate) const CALLBACK_URL: i64 = 65037;
/// Callback type illegal.
pub(crate) const CALLBACK_TYPE: i64 = 65038;

/// The Chinese `description` of a code.
pub(crate) fn description(code: i64) -> &'static str {
    match code {
        SUCCESS => "成功",
        UNKNOWN => "未知错误",
        1 => "内部错误",
        SYSTEM_ERROR => "系统错误",
        BUSY => "服务繁忙",
        10003 => "远程服务错误",
        PARAMETER_ERROR => "参数错误",
        10012 => "非法请求",
        MISSING_PARAMETER => "缺失必选参数",
        ILLEGAL_VALUE => "非法参数值",
        10027 => "接口调用频率过高",
        10029 => "设备无效",
        BLACKLISTED => "应用在黑名单中，禁止发送消息",
        DAILY_LIMIT => "应用每日请求次数过多",
        FORBIDDEN => "禁止该应用进行此操作",
        10037 => "请求过期",
        NO_VALID_TARGETS => "发送消息失败",
        BAD_SECRET => "认证失败",
        21302 => "token认证失败",
        21303 => "访问受限",
        21305 => "缺失必选参数",
        22000 => "非法应用",
        22006 => "无效的AppId",
        22007 => "无效的AppKey",
        BAD_PACKAGE => "无效的包名",
        22102 => "发送通知失败",
        26003 => "内部错误",
        CHANNEL_MISMATCH => "通道信息不匹配",
        TOO_LONG => "消息内容过长",
        TOO_MANY_EXTRAS => "extra键值对过多",
        EXTRA_TOO_LONG => "extra键值过长",
        CALLBACK_PARAM | CALLBACK_URL | CALLBACK_TYPE => "回执参数非法",
        _ => "错误",
    }
}

/// An error answer of the send API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MiError {
    /// HTTP status (200 for Xiaomi's own errors).
    pub status: u16,
    /// Result code.
    pub code: i64,
    /// English reason.
    pub reason: String,
}

impl MiError {
    /// An HTTP 200 error answer.
    pub(crate) fn new(code: i64, reason: impl Into<String>) -> Self {
        MiError {
            status: 200,
            code,
            reason: reason.into(),
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self, trace_id: &str) -> Value {
        json!({
            "result": "error",
            "code": self.code,
            "reason": self.reason,
            "description": description(self.code),
            "trace_id": trace_id,
        })
    }
}

/// The success body.
pub(crate) fn ok_body(data: Map<String, Value>, info: &str, trace_id: &str) -> Value {
    json!({
        "result": "ok",
        "code": SUCCESS,
        "description": description(SUCCESS),
        "data": data,
        "info": info,
        "trace_id": trace_id,
    })
}

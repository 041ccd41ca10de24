//! The request log: every request any vendor endpoint received, with the answer given, in a
//! bounded ring (oldest dropped first) so a long benchmark cannot exhaust memory.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::control::types::{RequestFilter, RequestRecord};

/// The shared request log.
#[derive(Debug)]
pub(crate) struct Recorder {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    next_seq: u64,
    capacity: usize,
    records: VecDeque<RequestRecord>,
}

impl Recorder {
    /// A log that keeps at most `capacity` records.
    pub(crate) fn new(capacity: usize) -> Self {
        Recorder {
            inner: Mutex::new(Inner {
                next_seq: 1,
                capacity: capacity.max(1),
                records: VecDeque::new(),
            }),
        }
    }

    /// Stores a record, giving it the next sequence number; returns the stored copy.
    pub(crate) fn push(&self, mut record: RequestRecord) -> RequestRecord {
        let mut inner = lock(&self.inner);
        record.seq = inner.next_seq;
        inner.next_seq += 1;
        if inner.records.len() >= inner.capacity {
            inner.records.pop_front();
        }
        inner.records.push_back(record.clone());
        record
    }

    /// Records matching `filter`, oldest first.
    pub(crate) fn select(&self, filter: &RequestFilter) -> Vec<RequestRecord> {
        let inner = lock(&self.inner);
        let token = filter.token.as_deref().map(str::to_ascii_lowercase);
        let mut out: Vec<RequestRecord> = inner
            .records
            .iter()
            .filter(|r| filter.vendor.is_none_or(|v| r.vendor == v))
            .filter(|r| filter.since.is_none_or(|s| r.seq > s))
            .filter(|r| filter.since_ms.is_none_or(|s| r.at_ms >= s))
            .filter(|r| match (&token, &r.token) {
                (None, _) => true,
                (Some(want), Some(have)) if have.eq_ignore_ascii_case(want) => true,
                (Some(want), _) => r.tokens.iter().any(|t| t.eq_ignore_ascii_case(want)),
            })
            .cloned()
            .collect();
        if let Some(limit) = filter.limit
            && out.len() > limit
        {
            out.drain(..out.len() - limit);
        }
        out
    }

    /// Forgets every record (sequence numbers keep increasing).
    pub(crate) fn clear(&self) {
        lock(&self.inner).records.clear();
    }
}

/// Locks a mutex, recovering the data if another thread panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::types::{RecordedResponse, Vendor};

    fn record(vendor: Vendor, token: &str) -> RequestRecord {
        RequestRecord {
            seq: 0,
            at_ms: 0,
            vendor,
            endpoint: vendor.as_str().into(),
            connection: 1,
            http_version: "HTTP/2.0".into(),
            method: "POST".into(),
            path: "/".into(),
            headers: vec![],
            body: String::new(),
            token: Some(token.into()),
            tokens: vec![],
            topic: None,
            dry_run: false,
            reset: false,
            response: RecordedResponse {
                status: 200,
                headers: vec![],
                body: String::new(),
            },
        }
    }

    #[test]
    fn ring_drops_oldest_and_filters_apply() {
        let rec = Recorder::new(2);
        rec.push(record(Vendor::Apns, "aa"));
        rec.push(record(Vendor::Fcm, "bb"));
        rec.push(record(Vendor::Apns, "AA"));
        let all = rec.select(&RequestFilter::default());
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2, 3]);
        let apns = rec.select(&RequestFilter {
            vendor: Some(Vendor::Apns),
            token: Some("aa".into()),
            ..Default::default()
        });
        assert_eq!(apns.len(), 1);
        let since = rec.select(&RequestFilter {
            since: Some(2),
            ..Default::default()
        });
        assert_eq!(since.len(), 1);
    }
}

//! The Xiaomi endpoint.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::control::types::Vendor;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{self, Body};

/// The Xiaomi endpoint.
#[derive(Debug)]
pub(crate) struct XiaomiEndpoint {
    #[allow(dead_code)]
    state: Arc<SimState>,
}

impl XiaomiEndpoint {
    /// The endpoint over `state`.
    pub(crate) fn new(state: Arc<SimState>) -> Self {
        XiaomiEndpoint { state }
    }
}

impl Endpoint for XiaomiEndpoint {
    type Conn = ConnInfo;

    fn vendor(&self) -> Vendor {
        Vendor::Xiaomi
    }

    fn name(&self) -> &'static str {
        "xiaomi"
    }

    fn open(&self, info: ConnInfo) -> ConnInfo {
        info
    }

    async fn handle(&self, _conn: &ConnInfo, _req: Request<Incoming>) -> Response<Body> {
        wire::response(404, &[], b"not implemented".to_vec())
    }
}

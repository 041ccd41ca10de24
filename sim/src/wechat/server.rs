//! The Wechat endpoint.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::control::types::Vendor;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{self, Body};

/// The Wechat endpoint.
#[derive(Debug)]
pub(crate) struct WechatEndpoint {
    #[allow(dead_code)]
    state: Arc<SimState>,
}

impl WechatEndpoint {
    /// The endpoint over `state`.
    pub(crate) fn new(state: Arc<SimState>) -> Self {
        WechatEndpoint { state }
    }
}

impl Endpoint for WechatEndpoint {
    type Conn = ConnInfo;

    fn vendor(&self) -> Vendor {
        Vendor::Wechat
    }

    fn name(&self) -> &'static str {
        "wechat"
    }

    fn open(&self, info: ConnInfo) -> ConnInfo {
        info
    }

    async fn handle(&self, _conn: &ConnInfo, _req: Request<Incoming>) -> Response<Body> {
        wire::response(404, &[], b"not implemented".to_vec())
    }
}

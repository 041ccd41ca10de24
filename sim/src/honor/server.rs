//! The Honor endpoint.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::control::types::Vendor;
use crate::server::{ConnInfo, Endpoint};
use crate::state::SimState;
use crate::wire::{self, Body};

/// The Honor endpoint.
#[derive(Debug)]
pub(crate) struct HonorEndpoint {
    #[allow(dead_code)]
    state: Arc<SimState>,
}

impl HonorEndpoint {
    /// The endpoint over `state`.
    pub(crate) fn new(state: Arc<SimState>) -> Self {
        HonorEndpoint { state }
    }
}

impl Endpoint for HonorEndpoint {
    type Conn = ConnInfo;

    fn vendor(&self) -> Vendor {
        Vendor::Honor
    }

    fn name(&self) -> &'static str {
        "honor"
    }

    fn open(&self, info: ConnInfo) -> ConnInfo {
        info
    }

    async fn handle(&self, _conn: &ConnInfo, _req: Request<Incoming>) -> Response<Body> {
        wire::response(404, &[], b"not implemented".to_vec())
    }
}

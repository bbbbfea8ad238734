//! The metrics endpoint, served with hyper (HTTP/1.1) on a thread of its
//! own, so a slow scraper never touches a shard:
//!
//! - `GET /metrics`: every metric, Prometheus text format;
//! - `GET /health`: 200 while the process runs;
//! - `GET /ready`: 200 when the shards listen and the store is
//!   reachable, else 503.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tracing::{debug, info, warn};

use super::Metrics;

/// The running endpoint.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    _thread: JoinHandle<()>,
}

impl Server {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds `addr` and serves the endpoints until the process exits.
///
/// # Errors
///
/// The address cannot be bound or the thread cannot start.
pub fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> io::Result<Server> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let bound = std_listener.local_addr()?;
    let thread = std::thread::Builder::new()
        .name("riptide-metrics".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    warn!(error = %e, "metrics endpoint: cannot build its runtime");
                    return;
                }
            };
            rt.block_on(accept_loop(std_listener, metrics));
        })?;
    info!(addr = %bound, "serving /metrics, /health and /ready");
    Ok(Server {
        addr: bound,
        _thread: thread,
    })
}

async fn accept_loop(listener: std::net::TcpListener, metrics: Arc<Metrics>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "metrics endpoint: cannot listen");
            return;
        }
    };
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                debug!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(respond(&req, &metrics)) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!(error = %e, "metrics endpoint: connection failed");
            }
        });
    }
}

fn respond(req: &Request<Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String, kind: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
        r
    };
    const PLAIN: &str = "text/plain; charset=utf-8";
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into(), PLAIN);
    }
    match req.uri().path() {
        "/metrics" => text(
            StatusCode::OK,
            super::render(metrics),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        "/health" => text(StatusCode::OK, "ok\n".into(), PLAIN),
        "/ready" if metrics.ready() => text(StatusCode::OK, "ready\n".into(), PLAIN),
        "/ready" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: not listening yet, or the store is unreachable\n".into(),
            PLAIN,
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: /metrics, /health, /ready\n".into(),
            PLAIN,
        ),
    }
}

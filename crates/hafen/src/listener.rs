//! The accept loop of `serve`, for plain HTTP and built-in TLS alike: per connection the TLS
//! handshake (with a deadline), HTTP/1.1 or HTTP/2 through hyper-util's auto builder, the
//! client address for the handlers (`ConnectInfo<SocketAddr>`), the slow-loris deadlines, the
//! connection limit and graceful shutdown (stop accepting, let requests in flight finish).
//!
//! Why not `axum::serve`: it offers neither TLS nor a header read timeout. axum-server would,
//! but it brings its own copy of this loop and its TLS feature set; hyper-util's builder plus
//! tokio-rustls is what both are made of, and keeps the deadlines in our hands.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::Service;

/// A client gets this long for its TLS handshake: enough for slow links, short enough that
/// idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How connections are served.
#[derive(Clone)]
pub struct Options {
    /// Built-in TLS: every connection must complete a handshake first (no plain HTTP).
    pub tls: Option<TlsAcceptor>,
    /// Time a client has to send a request's complete header (HTTP/1.1, also between requests
    /// of a keep-alive connection) and, on a new connection, its first request (HTTP/2 too).
    pub header_timeout: Duration,
    /// Connections served at once. At the limit the loop stops accepting, so further clients
    /// wait in the kernel's listen backlog (and time out there) instead of each costing a
    /// descriptor and a task.
    pub max_connections: usize,
}

/// Which protocols a connection may speak.
#[derive(Clone, Copy)]
enum Protocols {
    /// Plain TCP: HTTP/1.1, or HTTP/2 with prior knowledge (as `axum::serve` allowed).
    Detect,
    /// TLS with ALPN `h2`.
    Http2,
    /// TLS without ALPN `h2`.
    Http1,
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, asks every
/// connection to close after its current request and waits until they all have.
pub async fn serve(listener: TcpListener, app: Router, options: Options, shutdown: impl Future<Output = ()>) {
    // `true` once shutting down; the loop waits for every receiver (one per connection) to go.
    let (stop_sender, stop) = watch::channel(false);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(options.max_connections));
    let mut warned_full: Option<std::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        if slots.available_permits() == 0 && warned_full.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
            tracing::warn!(limit = options.max_connections, "connection limit reached: new clients wait");
            warned_full = Some(std::time::Instant::now());
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    if !is_connection_error(&error) {
                        // E.g. out of file descriptors: pause instead of spinning on the error.
                        tracing::error!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small WebDAV responses (PROPFIND, LOCK) should not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let connection = handle(stream, peer, app.clone(), options.clone(), stop.clone());
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    drop(listener);
    drop(stop);
    stop_sender.send_replace(true);
    stop_sender.closed().await;
}

fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

async fn handle(stream: TcpStream, peer: SocketAddr, app: Router, options: Options, mut stop: watch::Receiver<bool>) {
    let Some(acceptor) = options.tls.clone() else {
        serve_connection(stream, peer, app, &options, stop, Protocols::Detect).await;
        return;
    };
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let stream = tokio::select! {
        result = handshake => match result {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                // Also what a plain-HTTP request to the TLS port ends in.
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
        // Shutting down: a connection without a request yet has nothing to finish.
        _ = stop.changed() => return,
    };
    let protocols = match stream.get_ref().1.alpn_protocol() {
        Some(b"h2") => Protocols::Http2,
        _ => Protocols::Http1,
    };
    serve_connection(stream, peer, app, &options, stop, protocols).await;
}

async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    options: &Options,
    mut stop: watch::Receiver<bool>,
    protocols: Protocols,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder = match protocols {
        Protocols::Detect => builder,
        Protocols::Http1 => builder.http1_only(),
        Protocols::Http2 => builder.http2_only(),
    };
    builder.http1().timer(TokioTimer::new()).header_read_timeout(options.header_timeout);
    builder.http2().timer(TokioTimer::new());

    // Set when the first request's header is complete: until then the connection has a
    // deadline of its own, because hyper's header timeout covers neither the sniffing of
    // plain connections for the HTTP/2 preface nor an HTTP/2 connection that never asks.
    let (first_request_sender, mut first_request) = watch::channel(false);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        first_request_sender.send_replace(true);
        // What `into_make_service_with_connect_info` provided: auth counts failed logins
        // per client address.
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(request)
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let first_request_deadline = tokio::time::sleep(options.header_timeout);
    tokio::pin!(first_request_deadline);
    let mut awaiting_first_request = true;
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    // Header timeouts, resets, protocol errors: the client's business.
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                break;
            }
            _ = first_request.wait_for(|seen| *seen), if awaiting_first_request => awaiting_first_request = false,
            () = &mut first_request_deadline, if awaiting_first_request => {
                tracing::debug!(%peer, "no request within the header timeout, closing the connection");
                break;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

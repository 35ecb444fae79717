//! When did this request's connection become usable? requests' read timeout runs from
//! there (urllib3 sets it on the socket once connected), but reqwest reports no such moment:
//! it only times the whole exchange. A connector layer tells the request that started a
//! connection when that connection is up.
//!
//! hyper-util asks the connector for a new connection from inside the request's own future
//! (the connect is lazy, raced against the pool's checkout), so a task-local set around the
//! request is visible in the layer's `call`. A request served by an idle pooled connection
//! never reaches the connector: its read timeout runs from the start.
//!
//! The same task-local trick carries requests' connect timeout to the connector: reqwest
//! takes a connect timeout per client, requests per request, and one client per timeout
//! would split the connection pool by timeout (`session.get(url)` then `session.get(url,
//! timeout=5)` opening a second connection).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

tokio::task_local! {
    static WATCH: Arc<ConnectWatch>;
    static CONNECT_TIMEOUT: Option<Duration>;
}

/// Run `fut` (a reqwest exchange) with `limit` as the connect timeout of any connection it
/// makes (None: no limit).
pub async fn with_connect_timeout<F: Future>(limit: Option<Duration>, fut: F) -> F::Output {
    CONNECT_TIMEOUT.scope(limit, fut).await
}

/// What the connector answers when the connect timeout passes: an `io::Error` of kind
/// `TimedOut`, which reqwest reports as a connect error with `is_timeout()`.
fn connect_timed_out(limit: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "connection timed out (connect timeout={})",
            limit.as_secs_f64()
        ),
    )
}

#[derive(Default)]
struct Phase {
    started: bool,
    connected_at: Option<Instant>,
}

/// One request's view of the connection it asked for.
#[derive(Default)]
pub struct ConnectWatch {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl ConnectWatch {
    fn started(&self) {
        self.phase.lock().started = true;
        self.changed.notify_one();
    }

    fn finished(&self) {
        self.phase.lock().connected_at = Some(Instant::now());
        self.changed.notify_one();
    }

    /// When the wait for the response head times out, given when the request began: None
    /// while its own connection is still being made (the connect timeout covers that).
    fn deadline(&self, began: Instant, read: Duration) -> Option<Instant> {
        let phase = self.phase.lock();
        match (phase.started, phase.connected_at) {
            (false, _) => Some(began + read),
            (true, Some(at)) => Some(at + read),
            (true, None) => None,
        }
    }
}

/// Wait for `sent` (reqwest's exchange up to the response head), timing out `read` after the
/// connection is usable. `None` when the read timeout fired first.
pub async fn head_within<F: Future>(sent: F, read: Duration) -> Option<F::Output> {
    let watch = Arc::new(ConnectWatch::default());
    let began = Instant::now();
    let sent = WATCH.scope(watch.clone(), sent);
    let mut sent = std::pin::pin!(sent);
    loop {
        let deadline = watch.deadline(began, read);
        let expiry = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            result = &mut sent => return Some(result),
            () = expiry => return None,
            () = watch.changed.notified() => {}
        }
    }
}

/// The connector layer (`reqwest::ClientBuilder::connector_layer`).
#[derive(Clone, Copy, Default)]
pub struct WatchLayer;

impl<S> tower_layer::Layer<S> for WatchLayer {
    type Service = WatchService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WatchService(inner)
    }
}

#[derive(Clone)]
pub struct WatchService<S>(S);

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, R> tower_service::Service<R> for WatchService<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
    S::Error: From<std::io::Error>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Boxed<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        // Outside a watched request (a background connect hyper-util spawned) nobody waits.
        let watch = WATCH.try_with(Arc::clone).ok();
        if let Some(watch) = &watch {
            watch.started();
        }
        // Read here, in the request's task: hyper-util may finish the connect on a task of
        // its own (when a pooled connection came free first).
        let limit = CONNECT_TIMEOUT.try_with(|limit| *limit).ok().flatten();
        let connecting = self.0.call(request);
        Box::pin(async move {
            let result = match limit {
                Some(limit) => match tokio::time::timeout(limit, connecting).await {
                    Ok(result) => result,
                    Err(_) => Err(connect_timed_out(limit).into()),
                },
                None => connecting.await,
            };
            if let Some(watch) = watch {
                watch.finished();
            }
            result
        })
    }
}

//! A few long-lived threads, one per core, that decode list pages and watch batches for
//! every informer of the process. Watch bursts hand over thousands of small batches a second; on tokio's
//! blocking pool each lands on whichever of its (up to hundreds of) idle threads wakes first,
//! so decoded objects are spread over many malloc arenas and every hand-off wakes a cold
//! thread.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

fn queue() -> &'static Mutex<Sender<Job>> {
    static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("rkube-decode-{i}")).spawn(move || work(&rx));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not start a decoding thread");
            }
        }
        Mutex::new(tx)
    })
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Hands `f` to a decoding thread at once (not when the returned future is first polled, so
/// callers can start work and await it later) and resolves to its result; `Err` carries the
/// panic message if it panicked (or the pool could not take it).
pub(crate) fn run<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = Result<T, String>> + Send + 'static {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let out = std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into())
        });
        let _ = tx.send(out);
    });
    let sent = match queue().lock() {
        Ok(q) => q.send(job).is_ok(),
        Err(poisoned) => poisoned.into_inner().send(job).is_ok(),
    };
    async move {
        if !sent {
            return Err("no decoding thread".to_string());
        }
        rx.await.unwrap_or_else(|_| Err("no decoding thread".into()))
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_jobs_and_reports_panics_without_losing_a_thread() {
        assert_eq!(super::run(|| 6 * 7).await, Ok(42));
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        // More panics than threads: the pool must survive each one.
        for _ in 0..threads + 1 {
            let err = super::run(|| -> u8 { panic!("bad batch") }).await.unwrap_err();
            assert!(err.contains("bad batch"), "{err}");
        }
        // Work starts when handed over, before anyone awaits it.
        let (tx, rx) = std::sync::mpsc::channel();
        let pending = super::run(move || tx.send(()).unwrap());
        rx.recv_timeout(std::time::Duration::from_secs(5)).expect("the job ran before being awaited");
        assert_eq!(pending.await, Ok(()));
        let sums = futures::future::join_all((0..64u64).map(|i| super::run(move || (0..=i).sum::<u64>()))).await;
        assert_eq!(sums, (0..64u64).map(|i| Ok(i * (i + 1) / 2)).collect::<Vec<_>>());
    }
}

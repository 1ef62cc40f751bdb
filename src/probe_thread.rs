//! The scheduled probes' own thread: a current-thread Tokio runtime that the
//! scheduler's timer and every scheduled run live on, apart from the
//! multi-thread runtime that serves HTTP, `/probe` and the AWS scrapes.
//!
//! Why a thread of their own: a scheduled run is a handful of I/O events spread
//! over a few milliseconds, and on a work-stealing runtime nearly every one of
//! them woke a second worker (a futex and a context switch each), which cost
//! more than the probe. Measured with 100,000 http probes every 60 s
//! (docs/benchmarks.md): about a third less CPU per run on one thread. It also
//! means a burst of `/probe` requests or a large scrape cannot hold up a
//! scheduled start. One thread drives several thousand http runs a second.

use std::thread::JoinHandle;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// The thread and a handle to spawn on its runtime. Dropping it stops the
/// runtime (tasks still there are dropped) and joins the thread.
#[derive(Debug)]
pub struct ProbeThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ProbeThread {
    /// Starts the thread, named `outpost-probes`.
    pub fn start() -> std::io::Result<ProbeThread> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("outpost-probes".to_string())
            .spawn(move || {
                // Either a stop or the sender dropped: both end the thread.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(ProbeThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where the scheduler spawns its timer (and so every run).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for ProbeThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly if the thread cannot start"
)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_on_the_probe_thread_and_drop_ends_it() {
        let probes = ProbeThread::start().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        probes.handle().spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            let name = std::thread::current().name().map(str::to_string);
            tx.send(name).unwrap();
        });
        assert_eq!(rx.recv().unwrap().as_deref(), Some("outpost-probes"));
        // A task that never ends does not keep the thread alive past the drop.
        probes.handle().spawn(std::future::pending::<()>());
        drop(probes);
    }
}

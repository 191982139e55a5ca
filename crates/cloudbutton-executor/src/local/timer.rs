//! One thread that runs actions at given instants: task deadlines and
//! delayed retries.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Instant;

type Action = Box<dyn FnOnce() + Send>;

struct Entry {
    when: Instant,
    seq: u64,
    action: Action,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    // Reversed, so that the max-heap pops the earliest entry first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

#[derive(Default)]
struct Queue {
    entries: BinaryHeap<Entry>,
    next_seq: u64,
    shutdown: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// Runs actions at their instants on a thread of its own. Dropping the
/// timer drops the actions that have not run.
pub(crate) struct Timer {
    shared: Arc<Shared>,
}

impl Timer {
    pub(crate) fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        thread::Builder::new()
            .name("cloudbutton-timer".into())
            .spawn(move || run(&worker))
            .expect("cannot start the timer thread");
        Self { shared }
    }

    /// Runs `action` on the timer thread at `when`, or soon after.
    pub(crate) fn schedule(&self, when: Instant, action: impl FnOnce() + Send + 'static) {
        let mut queue = self.shared.queue.lock().unwrap();
        let seq = queue.next_seq;
        queue.next_seq += 1;
        let earliest = queue.entries.peek().is_none_or(|first| when < first.when);
        queue.entries.push(Entry {
            when,
            seq,
            action: Box::new(action),
        });
        drop(queue);
        if earliest {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let mut queue = self.shared.queue.lock().unwrap();
        queue.shutdown = true;
        queue.entries.clear();
        drop(queue);
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared) {
    let mut queue = shared.queue.lock().unwrap();
    loop {
        if queue.shutdown {
            return;
        }
        let now = Instant::now();
        match queue.entries.peek() {
            Some(first) if first.when <= now => {
                let entry = queue.entries.pop().expect("peeked");
                drop(queue);
                (entry.action)();
                queue = shared.queue.lock().unwrap();
            }
            Some(first) => {
                let delay = first.when - now;
                queue = shared.wake.wait_timeout(queue, delay).unwrap().0;
            }
            None => queue = shared.wake.wait(queue).unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn actions_run_in_time_order() {
        let timer = Timer::start();
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        for (delay_ms, label) in [(40, "c"), (10, "a"), (25, "b")] {
            let tx = tx.clone();
            timer.schedule(now + Duration::from_millis(delay_ms), move || {
                tx.send(label).unwrap();
            });
        }
        let order: Vec<_> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert!(now.elapsed() >= Duration::from_millis(40));
    }

    #[test]
    fn dropping_the_timer_discards_pending_actions() {
        let timer = Timer::start();
        let (tx, rx) = mpsc::channel::<()>();
        timer.schedule(Instant::now() + Duration::from_secs(60), move || {
            tx.send(()).unwrap();
        });
        drop(timer);
        // The action, and with it the sender, is dropped without running.
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_err());
    }
}

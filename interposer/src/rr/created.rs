//! Recording: numbers for the resources a call creates, and the host resources themselves,
//! kept from the call that made them until the interposer's own resource is made from the
//! answer (see [`super::Live::created`]). Replaying, resources get their numbers from the trace
//! and nothing is kept.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

thread_local! {
    static KEPT: RefCell<VecDeque<Box<dyn Any>>> = RefCell::new(VecDeque::new());
}

/// Numbers for one kind of resource, in creation order.
pub struct Counter(Cell<u32>);

impl Counter {
    /// A counter whose first number is `first`.
    pub const fn new(first: u32) -> Counter {
        Counter(Cell::new(first))
    }

    /// The next number.
    pub fn next(&self) -> u32 {
        let n = self.0.get();
        self.0.set(n + 1);
        n
    }
}

/// Keeps the host resource `host` until [`take`], and gives it the next number of `counter`.
pub fn put<T: 'static>(host: T, counter: &'static std::thread::LocalKey<Counter>) -> u32 {
    keep(host);
    counter.with(Counter::next)
}

/// Keeps the host resource `host` until [`take`].
pub fn keep<T: 'static>(host: T) {
    KEPT.with_borrow_mut(|k| k.push_back(Box::new(host)));
}

/// The oldest host resource kept and not yet taken.
///
/// Panics (a bug in the interposer) when there is none, or it has another type.
pub fn take<T: 'static>() -> T {
    let v = KEPT
        .with_borrow_mut(|k| k.pop_front())
        .expect("a host resource was created");
    *v.downcast::<T>()
        .expect("the host resource of the right type")
}

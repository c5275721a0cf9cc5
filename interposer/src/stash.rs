//! Recording: host resources created by the call being logged, kept until the answer's number
//! is turned into the interposer's own resource (`wasi:sockets`, `wasi:http`).

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;

thread_local! {
    static STASH: RefCell<VecDeque<Box<dyn Any>>> = RefCell::new(VecDeque::new());
}

/// Keeps a host resource until [`take`].
pub fn put<T: 'static>(v: T) {
    STASH.with_borrow_mut(|s| s.push_back(Box::new(v)));
}

/// The oldest host resource [`put`] and not yet taken.
///
/// Panics (a bug in the interposer) when there is none, or it has another type.
pub fn take<T: 'static>() -> T {
    let v = STASH
        .with_borrow_mut(|s| s.pop_front())
        .expect("a host resource was created");
    *v.downcast::<T>()
        .expect("the host resource of the right type")
}

//! Resource rules that hold in both modes, as in wasmtime: a body's stream and a future's
//! pollables are its children, and dropping or finishing the parent while one is alive traps.

use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;

/// The live children (streams, pollables) of a resource. wasmtime traps when a resource is
/// dropped or finished while one is alive ("resource has children"); the interposer traps
/// alike, recording and replaying, before the host would: when the resource is finished
/// ([`Children::check`]) or dropped (the `Drop` of this, the resource's first field).
pub struct Children {
    live: Rc<Cell<u32>>,
    /// The resource, as the trap's message names it: `an incoming-body`.
    what: &'static str,
}

/// Held by a child: keeps the host parent alive and counts the child in its parent's
/// [`Children`].
struct ChildGuard {
    live: Rc<Cell<u32>>,
    _host: Option<Rc<dyn Any>>,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

impl Children {
    /// No children yet, of the resource `what`.
    pub fn of(what: &'static str) -> Children {
        Children {
            live: Rc::default(),
            what,
        }
    }

    /// A guard for a new child of the resource whose host resource is `host` (recording).
    pub fn child(&self, host: Option<Rc<dyn Any>>) -> Option<Rc<dyn Any>> {
        self.live.set(self.live.get() + 1);
        Some(Rc::new(ChildGuard {
            live: self.live.clone(),
            _host: host,
        }))
    }

    /// Traps when a child is alive.
    pub fn check(&self) {
        if self.live.get() > 0 {
            crate::rr::guest_error(&format!(
                "{} was dropped or finished while its stream or a pollable of it is alive (resource has children)",
                self.what
            ));
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.check();
    }
}

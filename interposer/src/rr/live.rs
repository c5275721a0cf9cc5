//! [`Live`]: a host resource the interposer wraps, which only the recorder has.

use std::marker::PhantomData;

/// The host's resource `T`, held while recording (a descriptor, a socket, an HTTP request; or
/// an `Rc` of one, or an `Option` of one moved out later). Replaying, the interposer never
/// touches the host: a `Live` holds nothing then, and the replaying build has no code that
/// drops or calls a host resource, so that it imports none.
///
/// Its contents are for the closures [`super::call`] runs while recording, which the
/// replaying build never runs: [`Live::get`] and the other accessors must be called nowhere
/// else.
pub struct Live<T>(Held<T>);

/// What a `Live` holds in this build.
#[cfg(not(feature = "replay"))]
type Held<T> = Present<T>;
/// What a `Live` holds in this build.
#[cfg(feature = "replay")]
type Held<T> = Absent<T>;

/// Holding a value, or not, depending on the mode.
trait Hold<T> {
    fn hold(make: impl FnOnce() -> T) -> Self;
    fn get(&self) -> &T;
    fn get_mut(&mut self) -> &mut T;
    fn into_option(self) -> Option<T>;
}

/// Recording: the host's resource.
#[allow(dead_code)]
struct Present<T>(T);

impl<T> Hold<T> for Present<T> {
    #[inline]
    fn hold(make: impl FnOnce() -> T) -> Self {
        Present(make())
    }
    #[inline]
    fn get(&self) -> &T {
        &self.0
    }
    #[inline]
    fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }
    #[inline]
    fn into_option(self) -> Option<T> {
        Some(self.0)
    }
}

/// Replaying: nothing (no drop glue, no host call).
#[allow(dead_code)]
struct Absent<T>(PhantomData<T>);

impl<T> Hold<T> for Absent<T> {
    #[inline]
    fn hold(_: impl FnOnce() -> T) -> Self {
        Absent(PhantomData)
    }
    fn get(&self) -> &T {
        unreachable!("a host resource was used while replaying")
    }
    fn get_mut(&mut self) -> &mut T {
        unreachable!("a host resource was used while replaying")
    }
    #[inline]
    fn into_option(self) -> Option<T> {
        None
    }
}

impl<T> Live<T> {
    /// Recording: the host resource `make` gives; replaying: nothing (`make` is not run).
    #[inline]
    pub fn new(make: impl FnOnce() -> T) -> Live<T> {
        Live(Held::hold(make))
    }

    /// The host resource (recording only).
    #[inline]
    pub fn get(&self) -> &T {
        self.0.get()
    }

    /// The host resource, to change (recording only).
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }

    /// The host resource while recording, `None` while replaying.
    #[inline]
    pub fn into_option(self) -> Option<T> {
        self.0.into_option()
    }
}

impl<T: 'static> Live<T> {
    /// The host resource that the call just recorded created and [`super::created::put`]
    /// kept (recording); nothing (replaying).
    #[inline]
    pub fn created() -> Live<T> {
        Live::new(super::created::take)
    }
}

/// Recording: `make()`; replaying: `None` (`make` is not run). For resources of interfaces the
/// replaying build may import too (`wasi:io`), whose absence it handles itself.
#[inline]
pub fn live<T>(make: impl FnOnce() -> T) -> Option<T> {
    Live::new(make).into_option()
}

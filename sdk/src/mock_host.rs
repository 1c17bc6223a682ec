//! The mock host's machinery, which names no capability: the dry-run
//! switch, the log of calls, and each capability's part (its scripted
//! answers and its state), found by type. Each capability's module
//! implements its trait for [`MockHost`] with these; `crate::mock` turns
//! the log into [`Call`](crate::mock::Call)s.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use crate::HostError;

/// A [`Host`](crate::Host) for unit tests: it records every call and
/// answers with scripted responses, so plugin logic runs natively under
/// `cargo test`, without wasmtime.
///
/// Responses are taken first from the queue filled by `exec_returns` /
/// `http_returns` / … (in order), then from the `on_exec` / `on_http` / …
/// handler; with neither, the call fails.
///
/// [`MockHost::dry_run`] imitates the host in `--dry-run`: writes are
/// recorded and answered with a planned result, without consulting the
/// script.
#[derive(Default)]
pub struct MockHost {
    dry_run: bool,
    /// Every call, in order, as its capability recorded it.
    calls: RefCell<Vec<Recorded>>,
    /// Each capability's part (scripts, state), by its type.
    parts: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
}

type Handler<I, O> = Box<dyn FnMut(&I) -> Result<O, HostError>>;

/// The answers to one kind of call, `I` in and `O` out: a queue, then a
/// handler.
struct Script<I, O> {
    queue: RefCell<VecDeque<Result<O, HostError>>>,
    handler: RefCell<Option<Handler<I, O>>>,
}

impl<I, O> Default for Script<I, O> {
    fn default() -> Self {
        Script {
            queue: RefCell::default(),
            handler: RefCell::default(),
        }
    }
}

impl MockHost {
    pub fn new() -> Self {
        MockHost::default()
    }

    /// Answers write calls as the host does in a dry-run.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    pub(crate) fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Adds a call to the log; a capability records its request as it is
    /// (`Command`, `DnsQuery`, …) or a type of its own.
    pub(crate) fn record<T: Any + fmt::Debug + PartialEq>(&self, call: T) {
        self.calls.borrow_mut().push(Recorded(Rc::new(call)));
    }

    /// Every call so far, in order.
    pub(crate) fn records(&self) -> Vec<Recorded> {
        self.calls.borrow().clone()
    }

    /// The calls recorded as a `T`, in order.
    pub(crate) fn recorded<T: Any + Clone>(&self) -> Vec<T> {
        self.calls
            .borrow()
            .iter()
            .filter_map(|c| c.get::<T>().cloned())
            .collect()
    }

    /// A capability's part of the mock, made on first use.
    pub(crate) fn part<P: Default + 'static>(&self) -> Rc<P> {
        let any = Rc::clone(
            self.parts
                .borrow_mut()
                .entry(TypeId::of::<P>())
                .or_insert_with(|| Rc::new(P::default())),
        );
        any.downcast().expect("a part is stored under its own type")
    }

    /// Queues the answer to the next `I` call.
    pub(crate) fn returns<I: 'static, O: 'static>(self, answer: Result<O, HostError>) -> Self {
        self.part::<Script<I, O>>()
            .queue
            .borrow_mut()
            .push_back(answer);
        self
    }

    /// Answers `I` calls once the queue is empty.
    pub(crate) fn answers<I: 'static, O: 'static>(
        self,
        handler: impl FnMut(&I) -> Result<O, HostError> + 'static,
    ) -> Self {
        *self.part::<Script<I, O>>().handler.borrow_mut() = Some(Box::new(handler));
        self
    }

    /// The scripted answer to `input`: the queue, then the handler, else an
    /// error naming `what` was asked.
    pub(crate) fn answer<I: 'static, O: 'static>(
        &self,
        input: &I,
        what: impl FnOnce() -> String,
    ) -> Result<O, HostError> {
        let script = self.part::<Script<I, O>>();
        if let Some(next) = script.queue.borrow_mut().pop_front() {
            return next;
        }
        match script.handler.borrow_mut().as_mut() {
            Some(handler) => handler(input),
            None => Err(HostError::new(format!(
                "mock host: no response scripted for {}",
                what()
            ))),
        }
    }
}

/// One call a plugin made, as its capability recorded it. The capabilities
/// older than [`Call::Other`](crate::mock::Call::Other) have a variant of
/// [`Call`](crate::mock::Call) each; a later one's calls are `Other`, and
/// [`Recorded::get`] gives its request.
#[derive(Clone)]
pub struct Recorded(Rc<dyn Record>);

impl Recorded {
    /// The call as a `T` (the capability's request type), if it is one.
    pub fn get<T: Any>(&self) -> Option<&T> {
        (*self.0).as_any().downcast_ref()
    }
}

impl fmt::Debug for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Recorded {
    fn eq(&self, other: &Self) -> bool {
        self.0.same((*other.0).as_any())
    }
}

/// What a recorded call can be: anything comparable and printable.
trait Record: fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn Any) -> bool;
}

impl<T: Any + fmt::Debug + PartialEq> Record for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_then_handler_then_error() {
        let host = MockHost::new()
            .returns::<String, usize>(Ok(7))
            .answers::<String, usize>(|s| Ok(s.len()));
        let ask = |s: &str| host.answer::<String, usize>(&s.to_string(), || format!("`{s}`"));
        assert_eq!(ask("abc").unwrap(), 7);
        assert_eq!(ask("abc").unwrap(), 3);
        let e = MockHost::new()
            .answer::<String, usize>(&"x".into(), || "len `x`".into())
            .unwrap_err();
        assert_eq!(e.message, "mock host: no response scripted for len `x`");
    }

    #[test]
    fn calls_are_kept_in_order_and_by_type() {
        let host = MockHost::new();
        host.record(1u8);
        host.record("two".to_string());
        host.record(3u8);
        assert_eq!(host.recorded::<u8>(), [1, 3]);
        let all = host.records();
        assert_eq!(all[1].get::<String>().unwrap(), "two");
        assert_eq!(all[0], all[0].clone());
        assert_ne!(all[0], all[2]);
        assert_ne!(all[0], all[1], "values of different types differ");
        assert_eq!(format!("{:?}", all[1]), "\"two\"");
    }
}

//! Code the first paint does not need, in chunks fetched after it: at start, or on first need.
//!
//! In the release bundle (feature `split`), functions marked
//! `#[cfg_attr(feature = "split", wasm_split_helpers::wasm_split(<chunk>, fallible, preload(…)))]`
//! are cut out of the main module with everything only they reach (`cargo xtask build` runs
//! wasm-split); the pane asks for the later chunk once its first content is painted (the list,
//! and the shown session's messages: [`first_paint_done`]), for the markdown one when a
//! transcript is first on screen, for the math one at the first formula. Until a chunk
//! is in, what it renders shows a stand-in (markdown: the escaped text; a view: nothing, or a short
//! "loading" line), and views waiting for it re-render when it arrives. A chunk that fails to
//! load (a dead backend at start) is asked for again every 3 s, and by a view that needs it.
//! Builds without `split` (development, the in-browser tests) link everything in and are ready
//! from the start.

use std::cell::{Cell, RefCell};

use leptos::prelude::*;

/// Loads a chunk and primes the loaders of its functions (given by the app: this module names
/// none of the modules that use it).
pub type Preload =
    fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), NotLoaded>>>>;

/// A lazily loaded part of the pane.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Chunk {
    /// The markdown renderer and highlighter (the `markdown` module).
    Markdown,
    /// The rest the first paint does not need: views that are not on screen at start (tool
    /// cards, reasoning, approval and clarify cards, the shortcut help) and the code of the
    /// user's actions (send, stop, answer, rename, delete, search…).
    Later,
    /// The LaTeX → MathML converter, asked for only when a reply first shows a formula.
    Math,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    /// Only builds with `split` fetch.
    #[cfg_attr(not(feature = "split"), allow(dead_code))]
    Loading,
    Ready,
}

struct Slot {
    state: Cell<State>,
    arrived: ArcTrigger,
    preload: RefCell<Option<Preload>>,
    /// Runs whenever the chunk arrives, whoever asked for it.
    on_arrival: RefCell<Option<std::rc::Rc<dyn Fn()>>>,
    /// What runs once when it arrives (each ask's `then`).
    waiting: RefCell<Vec<Box<dyn FnOnce()>>>,
}

impl Slot {
    fn new() -> Slot {
        let state = Cell::new(if cfg!(feature = "split") {
            State::Idle
        } else {
            State::Ready
        });
        Slot {
            state,
            arrived: ArcTrigger::new(),
            preload: RefCell::new(None),
            on_arrival: RefCell::new(None),
            waiting: RefCell::new(Vec::new()),
        }
    }
}

thread_local! {
    static SLOTS: [Slot; 3] = [Slot::new(), Slot::new(), Slot::new()];
}

fn with_slot<R>(chunk: Chunk, f: impl FnOnce(&Slot) -> R) -> R {
    SLOTS.with(|s| f(&s[chunk as usize]))
}

/// Whether the chunk's code can run now.
pub fn ready(chunk: Chunk) -> bool {
    with_slot(chunk, |s| s.state.get() == State::Ready)
}

/// Makes the running effect or view re-run when the chunk arrives. Call it only while the chunk
/// is not in: the arrival fires once, so a later subscription would never be pruned.
pub fn track(chunk: Chunk) {
    with_slot(chunk, |s| s.arrived.track());
}

/// Says how to load `chunk` and asks for it (the later chunk once the first content is
/// painted, [`first_paint_done`]); `then` runs when it is in (at once in builds without
/// `split`, where everything is linked in).
pub fn start(chunk: Chunk, preload: Preload, then: impl FnOnce() + 'static) {
    with_slot(chunk, |s| *s.preload.borrow_mut() = Some(preload));
    load(chunk, then);
}

/// Says how to load `chunk` without asking for it yet (a chunk loaded on first need);
/// `on_arrival` runs when it is in.
pub fn register(chunk: Chunk, preload: Preload, on_arrival: impl Fn() + 'static) {
    with_slot(chunk, |s| {
        *s.preload.borrow_mut() = Some(preload);
        *s.on_arrival.borrow_mut() = Some(std::rc::Rc::new(on_arrival));
    });
}

thread_local! {
    /// Whether the later chunk still waits for the first content to be painted.
    static HELD: Cell<bool> = const { Cell::new(true) };
}

/// The first content (the list, and the shown session's messages) is on screen: the later
/// chunk, if something asked for it, is fetched now. Before, its download, compile and start
/// would compete with that paint for the main thread (and, on 2 cores, with the backend's
/// answer); an action's own code (through [`run`]) never waits. Whether this call was the
/// first (the others do nothing).
pub fn first_paint_done() -> bool {
    let first = HELD.with(|h| h.replace(false));
    if first && with_slot(Chunk::Later, |s| !s.waiting.borrow().is_empty()) {
        fetch(Chunk::Later);
    }
    first
}

/// Whether the later chunk still waits for the first paint.
pub fn before_first_paint() -> bool {
    HELD.with(Cell::get)
}

/// Asks for the chunk (once at a time; the later chunk not before the first paint); `then`
/// runs when it is in (at once if it is).
pub fn load(chunk: Chunk, then: impl FnOnce() + 'static) {
    if ready(chunk) {
        return then();
    }
    with_slot(chunk, |s| s.waiting.borrow_mut().push(Box::new(then)));
    want(chunk);
}

/// Asks for the chunk with nothing to run on arrival (a view re-renders by [`track`]): fetched
/// now, the later chunk once the first content is painted.
pub fn want(chunk: Chunk) {
    if !ready(chunk) && (chunk != Chunk::Later || !before_first_paint()) {
        fetch(chunk);
    }
}

/// Fetches the chunk unless it is on its way; runs what waits for it when it is in.
#[cfg(feature = "split")]
fn fetch(chunk: Chunk) {
    if with_slot(chunk, |s| s.state.replace(State::Loading)) != State::Idle {
        return;
    }
    leptos::task::spawn_local(async move {
        let preload = with_slot(chunk, |s| *s.preload.borrow());
        let loaded = match preload {
            Some(p) => p().await,
            None => Err(NotLoaded),
        };
        if loaded.is_ok() {
            let (hook, waiting) = with_slot(chunk, |s| {
                s.state.set(State::Ready);
                s.arrived.notify();
                (s.on_arrival.borrow().clone(), s.waiting.take())
            });
            if let Some(hook) = hook {
                hook();
            }
            waiting.into_iter().for_each(|then| then());
        } else {
            // Asked for again after a pause (the backend may be restarting); views keep their
            // stand-ins meanwhile.
            with_slot(chunk, |s| s.state.set(State::Idle));
            leptos::logging::warn!("the pane's {chunk:?} chunk did not load; trying again in 3 s");
            set_timeout(move || fetch(chunk), std::time::Duration::from_secs(3));
        }
    });
}

/// Builds without `split` link every chunk in: nothing to fetch.
#[cfg(not(feature = "split"))]
fn fetch(_: Chunk) {}

/// The error of a split function whose chunk could not be loaded.
#[derive(Debug)]
pub struct NotLoaded;

#[cfg(feature = "split")]
impl From<wasm_split_helpers::SplitLoaderError> for NotLoaded {
    fn from(_: wasm_split_helpers::SplitLoaderError) -> NotLoaded {
        NotLoaded
    }
}

/// A split function's value, now; call it only once [`ready`] says its chunk is in. In the
/// split build the function is async (it would load its chunk first) and completes on its
/// first poll once its own loader was primed with the chunk, so it is polled once, in place.
/// `None` if it did not: a function left out of the chunk's preload, flagged by [`unprimed`].
#[cfg(feature = "split")]
pub fn now<T>(f: impl std::future::Future<Output = Result<T, NotLoaded>>) -> Option<T> {
    use std::task::{Context, Poll, Waker};
    match std::pin::pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r.ok(),
        Poll::Pending => {
            unprimed();
            None
        }
    }
}

/// A split function's value, now (builds without `split` call it directly).
#[cfg(not(feature = "split"))]
pub fn now<T>(r: Result<T, NotLoaded>) -> Option<T> {
    r.ok()
}

/// A view from the [`Chunk::Later`] chunk: `f` renders it (untracked: the view's own closures
/// carry its reactivity) once the chunk is in; until then `fallback`, and the chunk is asked for.
pub fn view(
    f: impl Fn() -> Option<AnyView> + Send + Sync + 'static,
    fallback: impl Fn() -> Option<AnyView> + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        // Only a view waiting for the chunk subscribes to its arrival: the trigger fires once,
        // and a subscription left by a view that was disposed meanwhile would stay forever.
        if ready(Chunk::Later) {
            untrack(&f).or_else(&fallback)
        } else {
            track(Chunk::Later);
            want(Chunk::Later);
            fallback()
        }
    }
}

/// A task whose code is in a chunk: the split function builds the future, so everything the
/// future runs is cut out with it.
pub type Task<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;

/// Runs a split task, loading its chunk first if it is not in yet.
#[cfg(feature = "split")]
pub async fn run<T>(
    task: impl std::future::Future<Output = Result<Task<T>, NotLoaded>>,
) -> Result<T, NotLoaded> {
    Ok(task.await?.await)
}

/// Runs a split task (builds without `split` have it at hand).
#[cfg(not(feature = "split"))]
pub async fn run<T>(task: Result<Task<T>, NotLoaded>) -> Result<T, NotLoaded> {
    Ok(task?.await)
}

/// What a person is told when an action's code could not be loaded.
pub const NOT_LOADED: &str =
    "This part of the pane could not be loaded — is the connection down? Try again in a moment.";

/// A split function called through [`now`] did not complete although its chunk is in: its
/// loader was not primed when the chunk loaded (it was declared outside [`later_fns!`]). A
/// programming error: said on the console and marked on `<body data-pane-bug>`, which fails
/// the e2e suite.
#[cfg(feature = "split")]
fn unprimed() {
    leptos::logging::error!(
        "hermes-pane bug: a split function's loader was not primed (declare it in later_fns!)"
    );
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-pane-bug", "split view not primed");
    }
}

/// A task of the later chunk (a person's action, a notice): `name(args) -> output => body`
/// is a split function that only builds the boxed future of the plain `async fn body(args)`
/// (written outside the macro, so rustfmt formats it; reachable only through the split
/// function, so everything it runs is cut into the chunk with it). Run it with [`run`] (which
/// loads the chunk first if it is not in yet).
#[macro_export]
macro_rules! later {
    ($vis:vis $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $out:ty => $body:ident) => {
        #[cfg_attr(feature = "split", wasm_split_helpers::wasm_split(later, fallible))]
        $vis fn $name($($arg: $ty),*) -> Result<$crate::lazy::Task<$out>, $crate::lazy::NotLoaded> {
            Ok(Box::pin($body($($arg),*)))
        }
    };
}

/// Functions of the later chunk called synchronously (through [`now`]: views, a key
/// handler), listed once each: `fn name(args) -> T as preload_name => body;`. Generates each
/// split function `name(args) -> Result<T, NotLoaded>`, which calls the plain function `body`
/// (written outside the listing, so rustfmt and leptosfmt format it; it is reachable only
/// through the split function, so it is cut into the chunk with it), and the module's
/// `preload`, which primes every one of them when the chunk arrives
/// (`components::preload_later` calls each module's; a module left out of it leaves its
/// `preload` unused, which the lint phase refuses).
#[macro_export]
macro_rules! later_fns {
    ($(
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty as $pre:ident => $body:ident;
    )*) => {
        $(
            #[cfg_attr(
                feature = "split",
                wasm_split_helpers::wasm_split(later, fallible, preload($pre))
            )]
            fn $name($($arg: $ty),*) -> Result<$ret, $crate::lazy::NotLoaded> {
                Ok($body($($arg),*))
            }
        )*

        /// Primes every later-chunk function of this module (the chunk is fetched once).
        #[cfg(feature = "split")]
        pub(crate) async fn preload() -> Result<(), $crate::lazy::NotLoaded> {
            $($pre().await?;)*
            Ok(())
        }
    };
}

/// The stand-in of a view whose code is still on its way.
pub fn loading() -> Option<AnyView> {
    Some(
        view! {
            <p class="muted small lazy-loading" role="status">
                "Loading…"
            </p>
        }
        .into_any(),
    )
}

/// No stand-in: the view appears when its code is in.
pub fn nothing() -> Option<AnyView> {
    None
}

//! lib.rs - the safe layer of the Haywire module SDK for Rust: the
//! [`Module`] trait a module implements, the views it is handed
//! ([`Host`], [`Config`], [`Request`], [`Response`], [`Metrics`],
//! [`TlsInfo`], [`ProxyInfo`]), its error type ([`Error`]), and the [`module!`] macro that
//! exports the C descriptor `hw_module_entry` with `extern "C"` trampolines
//! around the trait.  The raw ABI lives in [`sys`].
//!
//! A module is a `cdylib` crate:
//!
//! ```
//! use haywire::{Config, Error, Host, Module, Outcome, Request, Response};
//!
//! struct Greet {
//!     text: Vec<u8>,
//! }
//!
//! impl Module for Greet {
//!     fn init(_host: &Host, config: &Config<'_>) -> Result<Self, String> {
//!         config.keys(&["greeting"])?; // "routes[3].config: unknown key ..."
//!         let text = config.string("greeting")?.unwrap_or(b"Hello from Rust\n");
//!         Ok(Greet { text: text.to_vec() }) // config strings die with init: copy
//!     }
//!
//!     fn handle(&self, _req: &Request<'_>, res: &mut Response<'_>) -> Result<Outcome, Error> {
//!         res.header("Content-Type", "text/plain")?;
//!         res.write(&self.text)?;
//!         Ok(Outcome::Handled)
//!     }
//! }
//!
//! haywire::module!(Greet, "greet");
//! # fn main() {}
//! ```
//!
//! What the trampolines guarantee:
//!
//! * No panic ever unwinds into the server (which is C): every entry point
//!   runs the module's code under [`std::panic::catch_unwind`].  A panic in
//!   [`Module::init`] fails `init` with a one-line reason naming the module
//!   (the server does not start, or the reload is refused); a panic in
//!   [`Module::handle`] returns `HW_ERROR`, so the client gets `500` and the
//!   server goes on serving; a panic in `Drop` (the module's `fini`) is
//!   logged.  A panic that happens while another unwinds still aborts the
//!   process, as everywhere in Rust, and so does every panic in a module
//!   built with `panic = "abort"`: leave the profile's default, `"unwind"`.
//! * A panic inside an entry point is reported as one line of the server's
//!   log, with its place (`handle panicked at src/lib.rs:42:26: ...`), not
//!   as Rust's multi-line report on stderr: the SDK installs a panic hook
//!   for that the first time `init` runs.  A module has its own copy of
//!   `std`, so the hook is the module's alone; it hands every other panic
//!   (another thread of the module, say) to the hook it replaced.
//! * An `Err` from `handle` also becomes `HW_ERROR` (500); both are logged
//!   through the host, at most one line a second per route (with the count
//!   of those not reported in between), since a client can cause them at
//!   will.
//! * After a panic the module's state is what the panic left: the SDK
//!   asserts unwind safety for it (`AssertUnwindSafe`), so state that a
//!   panic can leave half-updated (a `RefCell` mid-change) is the module's
//!   to guard against.
//!
//! Requests are answered synchronously: `handle` returns with the response
//! complete.  Deferred and streamed answers, timers and pool work exist in
//! the raw ABI ([`sys::hw_host`]) for a module that drives them itself.
//! The server's counters (ABI 1.4) are [`Request::metrics`]; the TLS
//! session a request came over (ABI 1.5) is [`Request::tls`]; what a load
//! balancer's PROXY protocol header said (ABI 1.7) is [`Request::proxy`]
//! and [`Request::proxy_tlv`].
#![warn(missing_docs)]

pub mod sys;

use std::cell::{Cell, RefCell};
use std::ffi::{c_void, CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::slice;
use std::sync::Once;
use std::time::{Duration, Instant};

use sys::{hw_conf, hw_host, hw_request, hw_response, hw_str};

/// Reads member `$member` of the host table `$host` (a `*const hw_host`):
/// `Some(function)`, or `None` when the server's table is too short to have
/// it (an older minor) or leaves it NULL.  The member is only read after the
/// size check, so a short table is never read past its end.
macro_rules! host_fn {
    ($host:expr, $member:ident) => {{
        let raw: *const hw_host = $host;
        // SAFETY: every `raw` given here is the table the server handed to
        // init (the invariant of Host, Config, Request and Response), valid
        // until fini returns; the member is read only when it exists.
        // (allow: the block is redundant where expanded in an unsafe fn.)
        #[allow(unused_unsafe)]
        let f = unsafe {
            if sys::host_has(raw, $crate::member_extent!(hw_host, $member)) {
                ptr::addr_of!((*raw).$member).read()
            } else {
                None
            }
        };
        f
    }};
}

/// Borrows the bytes of an `hw_str` the host returned.
///
/// # Safety
/// `s` describes `s.len` readable bytes that stay valid for `'a`.
unsafe fn bytes<'a>(s: hw_str) -> &'a [u8] {
    if s.data.is_null() || s.len == 0 {
        &[]
    } else {
        slice::from_raw_parts(s.data as *const u8, s.len)
    }
}

/// An empty `hw_str`, for out-parameters.
const EMPTY: hw_str = hw_str {
    data: ptr::null(),
    len: 0,
};

// ---------------------------------------------------------------------------
// Errors and outcomes

/// What went wrong in [`Module::handle`]: `?` turns a host call's failure
/// or the module's own message (`String`, `&str`) into one.  Returned from
/// `handle` it makes the server answer `500`, and the SDK logs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A host function refused: its name and its code (`HW_EINVAL`...).
    Host {
        /// The host function, e.g. `"add_header"`.
        call: &'static str,
        /// What it returned (negative, see [`sys`]).
        code: i32,
    },
    /// The server's table lacks this function: it speaks an older minor of
    /// the ABI than the one that added it.
    Missing {
        /// The host function, e.g. `"log_str"`.
        call: &'static str,
    },
    /// The module's own failure, in its own words.
    Module(String),
}

impl Error {
    /// The host's error code, when a host call failed.
    pub fn code(&self) -> Option<i32> {
        match *self {
            Error::Host { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The name of a host error code, for messages.
fn code_name(code: i32) -> &'static str {
    match code {
        sys::HW_EINVAL => "HW_EINVAL",
        sys::HW_ENOMEM => "HW_ENOMEM",
        sys::HW_ENOENT => "HW_ENOENT",
        sys::HW_ESTATE => "HW_ESTATE",
        sys::HW_ECANCELED => "HW_ECANCELED",
        _ => "error",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Host { call, code } => write!(f, "{}: {} ({})", call, code_name(*code), code),
            Error::Missing { call } => write!(
                f,
                "{}: not in this server's module ABI (a newer Haywire has it)",
                call
            ),
            Error::Module(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(msg: String) -> Error {
        Error::Module(msg)
    }
}

impl From<&str> for Error {
    fn from(msg: &str) -> Error {
        Error::Module(msg.to_owned())
    }
}

/// Turns a host call's return value into a `Result` (negative is an error).
fn check(call: &'static str, r: c_int) -> Result<(), Error> {
    if r < 0 {
        Err(Error::Host { call, code: r })
    } else {
        Ok(())
    }
}

/// What [`Module::handle`] did with a request, when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The response is complete (`HW_HANDLED`).
    Handled,
    /// Not mine (`HW_DECLINED`): the server discards what was written and
    /// tries the route with the next shorter matching prefix, then answers
    /// 404.
    Declined,
}

// ---------------------------------------------------------------------------
// The host

/// The severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `HW_LOG_ERROR`.
    Error,
    /// `HW_LOG_WARN`.
    Warn,
    /// `HW_LOG_INFO` (the server's default threshold).
    Info,
    /// `HW_LOG_DEBUG`.
    Debug,
}

impl Level {
    fn raw(self) -> sys::hw_log_level {
        match self {
            Level::Error => sys::HW_LOG_ERROR,
            Level::Warn => sys::HW_LOG_WARN,
            Level::Info => sys::HW_LOG_INFO,
            Level::Debug => sys::HW_LOG_DEBUG,
        }
    }
}

/// The server, as the module sees it: its ABI version and its log.  Given
/// to [`Module::init`]; copy it into the module's state to log later.  It
/// stays valid until the state is dropped (the module's `fini`), which is as
/// long as the state can use it; do not smuggle it anywhere that outlives
/// the state.  Like every host function, use it on the thread that calls the
/// module (it is neither `Send` nor `Sync`).
#[derive(Clone, Copy, Debug)]
pub struct Host {
    raw: *const hw_host,
}

impl Host {
    /// Wraps the server's table.
    ///
    /// # Safety
    /// `raw` is a host table as handed to a module's `init` (at least its
    /// ABI 1.0 part), valid for as long as the `Host` is used.
    pub unsafe fn from_raw(raw: *const hw_host) -> Host {
        Host { raw }
    }

    /// The raw table, for what the safe layer does not cover.
    pub fn as_raw(&self) -> *const hw_host {
        self.raw
    }

    /// The server's ABI version, `(major, minor)`.
    pub fn abi(&self) -> (u32, u32) {
        // SAFETY: the 1.0 part of the table always exists (from_raw).
        unsafe { ((*self.raw).abi_major, (*self.raw).abi_minor) }
    }

    /// Writes one line to the server's log.  Uses `log_str` (ABI 1.2), or
    /// the variadic `log` with `"%.*s"` on an older server, so the message
    /// is never taken for a format.  The server cuts a long line.
    pub fn log(&self, level: Level, message: &str) {
        let message = message.as_bytes();
        if let Some(log_str) = host_fn!(self.raw, log_str) {
            let s = hw_str {
                data: message.as_ptr() as *const c_char,
                len: message.len(),
            };
            // SAFETY: `s` is borrowed for the call, as the header allows.
            unsafe { log_str(level.raw(), s) };
        } else if let Some(log) = host_fn!(self.raw, log) {
            let len = message.len().min(i32::MAX as usize) as c_int;
            // SAFETY: "%.*s" takes an int and a char pointer, which is
            // what is passed; the precision bounds the read.
            unsafe {
                log(
                    level.raw(),
                    b"%.*s\0".as_ptr() as *const c_char,
                    len,
                    message.as_ptr() as *const c_char,
                )
            };
        }
    }

    /// [`log`](Host::log) at [`Level::Error`].
    pub fn error(&self, message: &str) {
        self.log(Level::Error, message)
    }

    /// [`log`](Host::log) at [`Level::Warn`].
    pub fn warn(&self, message: &str) {
        self.log(Level::Warn, message)
    }

    /// [`log`](Host::log) at [`Level::Info`].
    pub fn info(&self, message: &str) {
        self.log(Level::Info, message)
    }

    /// [`log`](Host::log) at [`Level::Debug`].
    pub fn debug(&self, message: &str) {
        self.log(Level::Debug, message)
    }
}

// ---------------------------------------------------------------------------
// The route's config

/// The type of a config value (`hw_conf_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfType {
    /// No such value.
    Absent,
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number without fraction or exponent.
    Int,
    /// Any other number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// A value of the route's `config`, read through the server's accessors
/// (ABI 1.2), during [`Module::init`] only: the lifetime `'a` ends when
/// `init` returns, and so does every string borrowed from it (copy what you
/// keep).  A `path` names a value below this one: members separated by
/// `.`, array elements as `[n]` (`"db.hosts[0].port"`); `""` is the value
/// itself.
///
/// The typed getters give `Ok(Some(value))`, `Ok(None)` when the value is
/// absent (use your default), or `Err` with the server's one-line message
/// naming the place, e.g. `routes[2].config.ttl: expected an integer, not a
/// string`: return it from `init` as it is.
#[derive(Clone, Copy)]
pub struct Config<'a> {
    host: *const hw_host,
    raw: *const hw_conf,
    json: &'a [u8],
    _life: PhantomData<&'a hw_conf>,
}

/// The size of the buffers the config accessors write their message into.
const ERR_LEN: usize = 512;

/// What an accessor missing from the host's table turns into.
fn missing(call: &'static str) -> String {
    format!(
        "{}: this server has no route config accessors (they came with module ABI 1.2)",
        call
    )
}

/// `path` as a C string (a NUL inside cannot be passed to the host).
fn c_path(path: &str) -> Result<CString, String> {
    CString::new(path).map_err(|_| format!("config path {:?} holds a NUL byte", path))
}

/// The message the host wrote into `err`, or `fallback` if it wrote none.
fn err_text(err: &mut [c_char; ERR_LEN], fallback: impl FnOnce() -> String) -> String {
    err[ERR_LEN - 1] = 0;
    // SAFETY: NUL-terminated by the line above at the latest.
    let text = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy();
    if text.is_empty() {
        fallback()
    } else {
        text.into_owned()
    }
}

/// A typed config getter: `conf_string`, `conf_int`, `conf_number` or
/// `conf_bool`.
type Getter<T> =
    unsafe extern "C" fn(*const hw_conf, *const c_char, *mut T, *mut c_char, usize) -> c_int;

impl<'a> Config<'a> {
    /// The root of the route's config.
    ///
    /// # Safety
    /// `host` is the table and `config`/`config_len` the config text given
    /// to the module's `init`, which is running and outlives `'a`.
    pub unsafe fn from_init(
        host: *const hw_host,
        config: *const c_char,
        config_len: usize,
    ) -> Config<'a> {
        let raw = match host_fn!(host, config) {
            Some(f) if !config.is_null() => f(config),
            _ => ptr::null(),
        };
        let json = if config.is_null() {
            &[][..]
        } else {
            slice::from_raw_parts(config as *const u8, config_len)
        };
        Config {
            host,
            raw,
            json,
            _life: PhantomData,
        }
    }

    /// The whole route config as the JSON text the server passed (`{}` when
    /// the route has none), for a module that parses it itself.
    pub fn json(&self) -> &'a [u8] {
        self.json
    }

    /// The raw handle, for what the safe layer does not cover.
    pub fn as_raw(&self) -> *const hw_conf {
        self.raw
    }

    fn child(&self, raw: *const hw_conf) -> Option<Config<'a>> {
        if raw.is_null() {
            None
        } else {
            Some(Config { raw, ..*self })
        }
    }

    /// The value at `path`, if there is one.
    pub fn find(&self, path: &str) -> Option<Config<'a>> {
        let f = host_fn!(self.host, conf_find)?;
        let p = c_path(path).ok()?;
        // SAFETY: a handle of the running init and a NUL-terminated path.
        self.child(unsafe { f(self.raw, p.as_ptr()) })
    }

    /// The type of this value.
    pub fn kind(&self) -> ConfType {
        // SAFETY: a handle of the running init (NULL is allowed).
        let t = match host_fn!(self.host, conf_type) {
            Some(f) => unsafe { f(self.raw) },
            None => sys::HW_CONF_ABSENT,
        };
        match t {
            sys::HW_CONF_NULL => ConfType::Null,
            sys::HW_CONF_BOOL => ConfType::Bool,
            sys::HW_CONF_INT => ConfType::Int,
            sys::HW_CONF_NUMBER => ConfType::Number,
            sys::HW_CONF_STRING => ConfType::String,
            sys::HW_CONF_ARRAY => ConfType::Array,
            sys::HW_CONF_OBJECT => ConfType::Object,
            _ => ConfType::Absent,
        }
    }

    fn get<T>(
        &self,
        call: &'static str,
        f: Option<Getter<T>>,
        path: &str,
        mut out: T,
    ) -> Result<Option<T>, String> {
        let f = f.ok_or_else(|| missing(call))?;
        let p = c_path(path)?;
        let mut err = [0 as c_char; ERR_LEN];
        // SAFETY: a handle of the running init, a NUL-terminated path, an
        // out-parameter of the type the getter writes, `err` of ERR_LEN.
        match unsafe { f(self.raw, p.as_ptr(), &mut out, err.as_mut_ptr(), ERR_LEN) } {
            0 => Ok(Some(out)),
            sys::HW_ENOENT => Ok(None),
            r => Err(err_text(&mut err, || {
                format!("config {:?}: {}", path, Error::Host { call, code: r })
            })),
        }
    }

    /// A string, as the bytes (they may hold anything, NUL included).
    pub fn string(&self, path: &str) -> Result<Option<&'a [u8]>, String> {
        let s = self.get("conf_string", host_fn!(self.host, conf_string), path, EMPTY)?;
        // SAFETY: config strings stay valid until init returns, beyond 'a.
        Ok(s.map(|s| unsafe { bytes(s) }))
    }

    /// A string that must be UTF-8 text (an error naming the place
    /// otherwise).
    pub fn str(&self, path: &str) -> Result<Option<&'a str>, String> {
        match self.string(path)? {
            None => Ok(None),
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => Ok(Some(s)),
                Err(_) => Err(self.error(path, "expected UTF-8 text")),
            },
        }
    }

    /// An integer (a JSON number without fraction or exponent).
    pub fn int(&self, path: &str) -> Result<Option<i64>, String> {
        self.get("conf_int", host_fn!(self.host, conf_int), path, 0i64)
    }

    /// Any number, as an `f64`.
    pub fn number(&self, path: &str) -> Result<Option<f64>, String> {
        self.get("conf_number", host_fn!(self.host, conf_number), path, 0f64)
    }

    /// `true` or `false`.
    pub fn bool(&self, path: &str) -> Result<Option<bool>, String> {
        Ok(self
            .get(
                "conf_bool",
                host_fn!(self.host, conf_bool),
                path,
                0 as c_int,
            )?
            .map(|b| b != 0))
    }

    /// The number of elements of an array or members of an object (0 for
    /// anything else).
    pub fn count(&self) -> usize {
        match host_fn!(self.host, conf_count) {
            // SAFETY: a handle of the running init (NULL is allowed).
            Some(f) => unsafe { f(self.raw) },
            None => 0,
        }
    }

    /// Element `index` of an array (with an empty key), or member `index`
    /// of an object with its key, in the order of the file; `None` past the
    /// end.
    pub fn at(&self, index: usize) -> Option<(&'a [u8], Config<'a>)> {
        let f = host_fn!(self.host, conf_at)?;
        let mut key = EMPTY;
        // SAFETY: a handle of the running init and an out-parameter.
        let v = self.child(unsafe { f(self.raw, index, &mut key) })?;
        // SAFETY: keys are config strings, valid until init returns.
        Some((unsafe { bytes(key) }, v))
    }

    /// Checks that this value is an object whose keys are all in `allowed`,
    /// so that a misspelt option fails at start-up: `Err` with e.g.
    /// `routes[3].config: unknown key "gretting"`.
    pub fn keys(&self, allowed: &[&str]) -> Result<(), String> {
        let f = host_fn!(self.host, conf_keys).ok_or_else(|| missing("conf_keys"))?;
        let owned = allowed
            .iter()
            .map(|k| c_path(k))
            .collect::<Result<Vec<_>, _>>()?;
        let mut list: Vec<*const c_char> = owned.iter().map(|k| k.as_ptr()).collect();
        list.push(ptr::null());
        let mut err = [0 as c_char; ERR_LEN];
        // SAFETY: a NULL-terminated list of C strings borrowed for the call.
        match unsafe { f(self.raw, list.as_ptr(), err.as_mut_ptr(), ERR_LEN) } {
            0 => Ok(()),
            r => Err(err_text(&mut err, || {
                format!(
                    "config: {}",
                    Error::Host {
                        call: "conf_keys",
                        code: r
                    }
                )
            })),
        }
    }

    /// The server's message for a module's own check of the value at
    /// `path`: `"<the place of path>: <what>"`, e.g.
    /// `routes[1].config.port: out of range`.
    pub fn error(&self, path: &str, what: &str) -> String {
        let fallback = || format!("config {:?}: {}", path, what);
        let (f, p, w) = match (
            host_fn!(self.host, conf_error),
            c_path(path),
            CString::new(what),
        ) {
            (Some(f), Ok(p), Ok(w)) => (f, p, w),
            _ => return fallback(),
        };
        let mut err = [0 as c_char; ERR_LEN];
        // SAFETY: a handle of the running init, NUL-terminated strings and
        // `err` of ERR_LEN bytes.
        unsafe { f(self.raw, p.as_ptr(), w.as_ptr(), err.as_mut_ptr(), ERR_LEN) };
        err_text(&mut err, fallback)
    }
}

// ---------------------------------------------------------------------------
// Requests and responses

/// The request being handled.  Every view borrows the server's bytes (not
/// copies) and lives as long as the `&Request` it came from, which is the
/// call to [`Module::handle`].
pub struct Request<'a> {
    host: *const hw_host,
    raw: *mut hw_request,
    _life: PhantomData<&'a hw_request>,
}

impl<'a> Request<'a> {
    /// Wraps a request.
    ///
    /// # Safety
    /// `host` is the module's host table and `raw` a request being handled
    /// that stays valid for `'a`.
    pub unsafe fn from_raw(host: *const hw_host, raw: *mut hw_request) -> Request<'a> {
        Request {
            host,
            raw,
            _life: PhantomData,
        }
    }

    /// The raw request, for what the safe layer does not cover.
    pub fn as_raw(&self) -> *mut hw_request {
        self.raw
    }

    fn view(&self, f: Option<unsafe extern "C" fn(*const hw_request) -> hw_str>) -> &[u8] {
        match f {
            // SAFETY: a request being handled; its strings live as long.
            Some(f) => unsafe { bytes(f(self.raw)) },
            None => &[],
        }
    }

    /// The method token as the client sent it, e.g. `b"GET"`, also one the
    /// server does not know.  HEAD comes as `b"HEAD"`: answer it as GET,
    /// the server sends no body.
    pub fn method(&self) -> &[u8] {
        self.view(host_fn!(self.host, method))
    }

    /// The request target exactly as received, query included.
    pub fn target(&self) -> &[u8] {
        self.view(host_fn!(self.host, target))
    }

    /// The path part of the target (without the query).
    pub fn path(&self) -> &[u8] {
        self.view(host_fn!(self.host, path))
    }

    /// The query without the `?`, empty if there is none.
    pub fn query(&self) -> &[u8] {
        self.view(host_fn!(self.host, query))
    }

    /// The route prefix that matched, e.g. `b"/api"`.
    pub fn prefix(&self) -> &[u8] {
        self.view(host_fn!(self.host, prefix))
    }

    /// The path after the prefix: empty or starting with `/`.
    pub fn rest(&self) -> &[u8] {
        self.view(host_fn!(self.host, rest))
    }

    /// The whole request body (de-chunked), empty if none.
    pub fn body(&self) -> &[u8] {
        self.view(host_fn!(self.host, body))
    }

    /// The request's host (RFC 9112 section 3.2.2): the authority of an
    /// absolute-form target, else the `Host` field, port included; empty
    /// when there is neither.  On a server older than ABI 1.2 the `Host`
    /// field alone.
    pub fn authority(&self) -> &[u8] {
        match host_fn!(self.host, host) {
            Some(f) => self.view(Some(f)),
            None => self.header("Host").unwrap_or(&[]),
        }
    }

    /// The HTTP version: `(1, 0)`, `(1, 1)`, or `(2, 0)` for a request
    /// that came over HTTP/2 (ABI 1.6; an older server says `(1, 1)`).
    pub fn version(&self) -> (u8, u8) {
        // SAFETY: a request being handled.
        let v = host_fn!(self.host, version).map_or(11, |f| unsafe { f(self.raw) });
        match v {
            10 => (1, 0),
            20 => (2, 0),
            _ => (1, 1),
        }
    }

    /// The value of the first header field called `name`
    /// (case-insensitively), as received.
    pub fn header(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let f = host_fn!(self.host, header)?;
        let name = name.as_ref();
        let mut value = EMPTY;
        // SAFETY: `name` is borrowed for the call; `value` is the request's.
        match unsafe {
            f(
                self.raw,
                name.as_ptr() as *const c_char,
                name.len(),
                &mut value,
            )
        } {
            0 => Some(unsafe { bytes(value) }),
            _ => None,
        }
    }

    /// Every header field as `(name, value)`, in the order received, names
    /// spelt as the client spelt them.
    pub fn headers(&self) -> Headers<'_> {
        // SAFETY: a request being handled.
        let count = host_fn!(self.host, header_count).map_or(0, |f| unsafe { f(self.raw) });
        Headers {
            req: self,
            index: 0,
            count,
        }
    }

    /// The peer's address, `"127.0.0.1:5678"` or `"[::1]:5678"`.  Behind a
    /// load balancer that sends a PROXY protocol header (ABI 1.7), the
    /// client the header named ([`Request::proxy`] has the balancer's own
    /// address).
    pub fn peer(&self) -> Option<String> {
        let f = host_fn!(self.host, peer)?;
        let mut buf = [0 as c_char; 128];
        // SAFETY: `buf` is ours, `buf.len()` bytes, NUL-terminated by the host.
        let n = unsafe { f(self.raw, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return None;
        }
        buf[buf.len() - 1] = 0;
        // SAFETY: NUL-terminated (above).
        Some(
            unsafe { CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned(),
        )
    }

    /// Whether the client has gone away (the answer will be dropped).
    pub fn aborted(&self) -> bool {
        // SAFETY: a request being handled.
        host_fn!(self.host, aborted).map_or(false, |f| unsafe { f(self.raw) } != 0)
    }

    /// A snapshot of the server's counters (ABI 1.4), taken now and summed
    /// over every worker: see [`Metrics`].  `None` on a server older than
    /// 1.4, one built without metrics (`--disable-metrics`), or when it is
    /// out of memory.
    ///
    /// The snapshot is the server's, allocated for this request and
    /// borrowed like the request's strings: it lives as long as the
    /// `&Request`, and nothing in it needs freeing.  Each call takes a new
    /// one, which reads shared memory and `/proc` (about a millisecond per
    /// thousand routes) and holds its memory until the request is over:
    /// call it once per request.
    pub fn metrics(&self) -> Option<Metrics<'_>> {
        let f = host_fn!(self.host, metrics)?;
        // SAFETY: a request being handled.
        let m = unsafe { f(self.raw) };
        // SAFETY: the host returns NULL or a snapshot valid as long as the
        // request; Metrics::from_raw checks its size before reading on.
        unsafe { Metrics::from_raw(m) }
    }

    /// The TLS session the request came over (ABI 1.5): see [`TlsInfo`].
    /// `None` over plain TCP, once the client has gone, when the server is
    /// out of memory, or on a server older than 1.5.
    ///
    /// The session's description is the server's, allocated for this
    /// request and borrowed like the request's strings: it lives as long as
    /// the `&Request`.  Each call allocates a new one that is held until
    /// the request is over: call it once per request.
    pub fn tls(&self) -> Option<TlsInfo<'_>> {
        let f = host_fn!(self.host, tls)?;
        // SAFETY: a request being handled.
        let t = unsafe { f(self.raw) };
        // SAFETY: the host returns NULL or a session valid as long as the
        // request; TlsInfo::from_raw checks its size before reading on.
        unsafe { TlsInfo::from_raw(t) }
    }

    /// What the PROXY protocol header the request's connection began with
    /// said (ABI 1.7): see [`ProxyInfo`].  `None` when the connection sent
    /// none (its listener takes none), once the client has gone, when the
    /// server is out of memory, or on a server older than 1.7.
    ///
    /// The description is the server's, allocated for this request and
    /// borrowed like the request's strings: it lives as long as the
    /// `&Request`.  Each call allocates a new one that is held until the
    /// request is over: call it once per request.
    pub fn proxy(&self) -> Option<ProxyInfo<'_>> {
        let f = host_fn!(self.host, proxy)?;
        // SAFETY: a request being handled.
        let p = unsafe { f(self.raw) };
        // SAFETY: the host returns NULL or a description valid as long as
        // the request; ProxyInfo::from_raw checks its size before reading on.
        unsafe { ProxyInfo::from_raw(p) }
    }

    /// The value of the first TLV of type `kind` in the PROXY v2 header the
    /// request's connection began with (ABI 1.7), such as a balancer's own
    /// types `0xE0..=0xEF`; `PP2_TYPE_SSL`'s sub-types `0x21..=0x25` are
    /// found inside it.  Borrowed like the request's strings.
    ///
    /// Errors: [`Error::Host`] with `HW_ENOENT` when the header has no such
    /// TLV, `HW_ESTATE` when there was no v2 header (none at all, or a
    /// version 1 one) or the client has gone; [`Error::Missing`] on a
    /// server older than 1.7.  [`Error::code`] gives the code.
    pub fn proxy_tlv(&self, kind: u8) -> Result<&[u8], Error> {
        let f = host_fn!(self.host, proxy_tlv).ok_or(Error::Missing { call: "proxy_tlv" })?;
        let mut value = EMPTY;
        // SAFETY: a request being handled; `value` is ours, filled with a
        // string of the request's.
        check("proxy_tlv", unsafe {
            f(self.raw, std::os::raw::c_uint::from(kind), &mut value)
        })?;
        // SAFETY: the host's string, valid as long as the request.
        Ok(unsafe { bytes(value) })
    }
}

/// The iterator of [`Request::headers`].
pub struct Headers<'r> {
    req: &'r Request<'r>,
    index: usize,
    count: usize,
}

impl<'r> Iterator for Headers<'r> {
    type Item = (&'r [u8], &'r [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let f = host_fn!(self.req.host, header_at)?;
        while self.index < self.count {
            let (mut name, mut value) = (EMPTY, EMPTY);
            let i = self.index;
            self.index += 1;
            // SAFETY: a request being handled; the strings are the request's.
            if unsafe { f(self.req.raw, i, &mut name, &mut value) } == 0 {
                return Some(unsafe { (bytes(name), bytes(value)) });
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.count - self.index))
    }
}

// ---------------------------------------------------------------------------
// Metrics (ABI 1.4)

/// Borrows `n` items at `p`, or none when `p` is NULL.
///
/// # Safety
/// `p` is NULL or points to `n` initialised `T`, valid for `'a`.
unsafe fn items<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        slice::from_raw_parts(p, n)
    }
}

/// Borrows a NUL-terminated name the host gave: `""` for NULL (or for
/// bytes that are not UTF-8, which the server's names never are: they are
/// ASCII words such as `"ok"` or `"worker"`).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for `'a`.
unsafe fn name<'a>(p: *const c_char) -> &'a str {
    if p.is_null() {
        ""
    } else {
        CStr::from_ptr(p).to_str().unwrap_or("")
    }
}

/// A snapshot of the server's counters (`hw_metrics`, ABI 1.4), from
/// [`Request::metrics`]: every worker's counts summed, the way a
/// `/metrics` endpoint would show them.  Counters only grow for the
/// server's life (a restarted worker's counts are kept); gauges (the
/// connections, the processes) are the values when the snapshot was taken.
///
/// Everything here is borrowed from the server for the request's life
/// (`'a`), like the request's strings: copy what must outlive `handle`.
///
/// A 1.4 server's snapshot is shorter than this crate's `hw_metrics` (it
/// ends before the TLS handshakes of 1.5), so the snapshot is held as a
/// pointer, never as a `&hw_metrics`, and a member added after 1.4 is read
/// only when the snapshot's `size` covers it.
#[derive(Clone, Copy)]
pub struct Metrics<'a> {
    raw: *const sys::hw_metrics,
    _life: PhantomData<&'a sys::hw_metrics>,
}

/// Reads member `$member` of the snapshot of the `Metrics` `$m`, one of
/// ABI 1.4's (which `Metrics::from_raw` checked the snapshot has): only
/// the member is read, never the whole struct.
macro_rules! snap {
    ($m:expr, $member:ident) => {{
        let raw: *const sys::hw_metrics = $m.raw;
        // SAFETY: a snapshot the host returned, valid for 'a, whose size
        // covers every 1.4 member (from_raw).  (allow: the block is
        // redundant where expanded inside another unsafe block.)
        #[allow(unused_unsafe)]
        let v = unsafe { ptr::addr_of!((*raw).$member).read() };
        v
    }};
}

impl<'a> Metrics<'a> {
    /// Wraps a snapshot: `None` for NULL, or for one whose `size` is
    /// shorter than ABI 1.4's `hw_metrics` (which no server gives).  A 1.4
    /// server's snapshot is accepted: what 1.5 appends (the TLS handshakes)
    /// then reads as empty.
    ///
    /// # Safety
    /// `raw` is NULL or a snapshot the host returned from `metrics`, for a
    /// request that stays valid for `'a`.
    pub unsafe fn from_raw(raw: *const sys::hw_metrics) -> Option<Metrics<'a>> {
        if raw.is_null() {
            return None;
        }
        // Only `size` is read until it says the 1.4 members are there
        // (`nprocesses` is the last of them).
        let (at, size) = crate::member_extent!(sys::hw_metrics, nprocesses);
        if ptr::addr_of!((*raw).size).read() < at + size {
            return None;
        }
        Some(Metrics {
            raw,
            _life: PhantomData,
        })
    }

    /// The raw snapshot, for what the safe layer does not cover.  It may be
    /// shorter than [`sys::hw_metrics`]: check its `size` before reading a
    /// member added after ABI 1.4.
    pub fn as_raw(&self) -> *const sys::hw_metrics {
        self.raw
    }

    /// Whether the snapshot's `size` covers a member at `extent` (from
    /// [`member_extent!`](crate::member_extent)).
    fn has(&self, extent: (usize, usize)) -> bool {
        snap!(self, size) >= extent.0 + extent.1
    }

    /// The server's version, e.g. `"0.9.0"`.
    pub fn version(&self) -> &'a str {
        // SAFETY: the snapshot's strings live as long as it does.
        unsafe { name(snap!(self, version)) }
    }

    /// The server's module ABI, e.g. `"1.7"`.
    pub fn abi(&self) -> &'a str {
        // SAFETY: as for version.
        unsafe { name(snap!(self, abi)) }
    }

    /// When the server (its master) started, Unix time in seconds.
    pub fn start_time(&self) -> f64 {
        snap!(self, start_time)
    }

    /// The generation serving new requests.
    pub fn generation(&self) -> u64 {
        snap!(self, generation)
    }

    /// When a reload last succeeded, Unix time in seconds; 0 if none has.
    pub fn last_reload_time(&self) -> f64 {
        snap!(self, last_reload_time)
    }

    /// Retired generations not yet unloaded, over all workers.
    pub fn generations_draining(&self) -> u64 {
        snap!(self, generations_draining)
    }

    /// Worker processes configured (0: a single process serves).
    pub fn workers(&self) -> u32 {
        snap!(self, workers)
    }

    /// Reloads by result (`"ok"`, `"failed"`).
    pub fn reloads(&self) -> &'a [MetricsCount<'a>] {
        // SAFETY: the snapshot's array; MetricsCount is hw_metrics_count.
        unsafe {
            items(
                snap!(self, reloads) as *const MetricsCount<'a>,
                snap!(self, nreloads),
            )
        }
    }

    /// Worker restarts by cause (`"signal"`: killed by one, `"exit"`: it
    /// exited when not asked to).
    pub fn restarts(&self) -> &'a [MetricsCount<'a>] {
        // SAFETY: as for reloads.
        unsafe {
            items(
                snap!(self, restarts) as *const MetricsCount<'a>,
                snap!(self, nrestarts),
            )
        }
    }

    /// Connections accepted, over all workers.
    pub fn connections_accepted(&self) -> u64 {
        snap!(self, connections_accepted)
    }

    /// Open connections reading a request (each worker counts its
    /// connections twice a second).
    pub fn connections_reading(&self) -> u64 {
        snap!(self, connections_reading)
    }

    /// Open connections writing (or preparing) a response.
    pub fn connections_writing(&self) -> u64 {
        snap!(self, connections_writing)
    }

    /// Open connections waiting idle between requests.
    pub fn connections_waiting(&self) -> u64 {
        snap!(self, connections_waiting)
    }

    /// Times a worker stopped accepting at `limits.connections`.
    pub fn accepts_paused(&self) -> u64 {
        snap!(self, accepts_paused)
    }

    /// Connections closed by a timeout, by its kind (`"keepalive"`,
    /// `"head"`, `"body"`, `"body_rate"`, `"write"`, `"linger"`).
    pub fn timeouts(&self) -> &'a [MetricsCount<'a>] {
        // SAFETY: as for reloads.
        unsafe {
            items(
                snap!(self, timeouts) as *const MetricsCount<'a>,
                snap!(self, ntimeouts),
            )
        }
    }

    /// The upper bounds of the duration histogram, in seconds, ascending
    /// (see [`MetricsRoute::buckets`]).
    pub fn bounds(&self) -> &'a [f64] {
        // SAFETY: the snapshot's array.
        unsafe { items(snap!(self, bounds), snap!(self, nbounds)) }
    }

    /// The routes' series, ascending by prefix.
    pub fn routes(&self) -> MetricsRoutes<'a> {
        MetricsRoutes {
            // SAFETY: the snapshot's array.
            routes: unsafe { items(snap!(self, routes), snap!(self, nroutes)) }.iter(),
            nbounds: snap!(self, nbounds),
        }
    }

    /// The server's processes: the master (if any), then each running
    /// worker.
    pub fn processes(&self) -> &'a [MetricsProcess<'a>] {
        // SAFETY: the snapshot's array; MetricsProcess is hw_metrics_process.
        unsafe {
            items(
                snap!(self, processes) as *const MetricsProcess<'a>,
                snap!(self, nprocesses),
            )
        }
    }

    /// TLS handshakes by how they ended (ABI 1.5): `"full"` (a new
    /// session), `"resumed"` (from a session ticket), `"failed"` (an alert,
    /// bytes that were not TLS, or a client that left or timed out first).
    /// Empty in a 1.4 server's snapshot, which has no such member.
    pub fn tls_handshakes(&self) -> &'a [MetricsCount<'a>] {
        // Both members are 1.5's: read them only when `size` covers them.
        if !self.has(crate::member_extent!(sys::hw_metrics, tls_handshakes))
            || !self.has(crate::member_extent!(sys::hw_metrics, ntls_handshakes))
        {
            return &[];
        }
        // SAFETY: the members exist (above), and the host filled them when
        // it filled `size` that far; the rest is as for reloads.
        unsafe {
            let raw = self.raw;
            items(
                ptr::addr_of!((*raw).tls_handshakes).read() as *const MetricsCount<'a>,
                ptr::addr_of!((*raw).ntls_handshakes).read(),
            )
        }
    }
}

impl fmt::Debug for Metrics<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("version", &self.version())
            .field("abi", &self.abi())
            .field("generation", &self.generation())
            .field("workers", &self.workers())
            .field("routes", &self.routes().len())
            .field("processes", &self.processes().len())
            .field("tls_handshakes", &self.tls_handshakes())
            .finish_non_exhaustive()
    }
}

/// A named count of a [`Metrics`] snapshot (`hw_metrics_count`): a label's
/// value and its counter, e.g. the reloads that went `"ok"`.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct MetricsCount<'a> {
    raw: sys::hw_metrics_count,
    _life: PhantomData<&'a c_char>,
}

impl<'a> MetricsCount<'a> {
    /// The label's value, e.g. `"ok"` or `"signal"`.
    pub fn name(&self) -> &'a str {
        // SAFETY: a count of a snapshot, whose names live as long.
        unsafe { name(self.raw.name) }
    }

    /// Its counter.
    pub fn count(&self) -> u64 {
        self.raw.count
    }
}

impl fmt::Debug for MetricsCount<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name(), self.count())
    }
}

/// One status code's count in a route's series (`hw_metrics_code`).
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct MetricsCode {
    raw: sys::hw_metrics_code,
}

impl MetricsCode {
    /// The status code, 100 to 599.
    pub fn code(&self) -> u32 {
        self.raw.code
    }

    /// Responses with it.
    pub fn count(&self) -> u64 {
        self.raw.count
    }
}

impl fmt::Debug for MetricsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.code(), self.count())
    }
}

/// One route's series in a [`Metrics`] snapshot (`hw_metrics_route`),
/// summed over the workers and over every generation that had a route with
/// this prefix (a prefix's series continues across reloads).  A request is
/// counted when it is over: its response written, or its client gone
/// (status 499).
#[derive(Clone, Copy)]
pub struct MetricsRoute<'a> {
    raw: &'a sys::hw_metrics_route,
    nbounds: usize,
}

impl<'a> MetricsRoute<'a> {
    /// The raw series, for what the safe layer does not cover.
    pub fn as_raw(&self) -> *const sys::hw_metrics_route {
        self.raw
    }

    /// The route's prefix, e.g. `b"/api"`; empty for requests that matched
    /// no route (404, and those refused before routing: 400, 408, 413,
    /// 414, 431, 501, 505); `b"*"` for routes past the table's capacity.
    pub fn prefix(&self) -> &'a [u8] {
        // SAFETY: the snapshot's string, valid as long as it.
        unsafe { bytes(self.raw.prefix) }
    }

    /// All its requests (the sum of [`codes`](Self::codes) and
    /// [`other_codes`](Self::other_codes)).
    pub fn requests(&self) -> u64 {
        self.raw.requests
    }

    /// Its counts by exact status, ascending by code.
    pub fn codes(&self) -> &'a [MetricsCode] {
        // SAFETY: the snapshot's array; MetricsCode is hw_metrics_code.
        unsafe { items(self.raw.codes as *const MetricsCode, self.raw.ncodes) }
    }

    /// Requests whose code did not fit the server's table of codes per
    /// route (shown as code `"other"`).
    pub fn other_codes(&self) -> u64 {
        self.raw.other_codes
    }

    /// The duration histogram, cumulative as Prometheus's `le`: entry `i`
    /// counts the requests that took up to `bounds()[i]` seconds (see
    /// [`Metrics::bounds`]), and the last of its `bounds().len() + 1`
    /// entries counts them all.  A duration runs from the request's first
    /// byte read to its end.
    pub fn buckets(&self) -> &'a [u64] {
        // SAFETY: the host gives nbounds + 1 buckets a route.
        unsafe { items(self.raw.buckets, self.nbounds + 1) }
    }

    /// The sum of the durations, in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.raw.duration_ns
    }

    /// Request body bytes received.
    pub fn request_body_bytes(&self) -> u64 {
        self.raw.request_body_bytes
    }

    /// Response body bytes sent.
    pub fn response_body_bytes(&self) -> u64 {
        self.raw.response_body_bytes
    }
}

impl fmt::Debug for MetricsRoute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsRoute")
            .field("prefix", &String::from_utf8_lossy(self.prefix()))
            .field("requests", &self.requests())
            .field("codes", &self.codes())
            .field("other_codes", &self.other_codes())
            .field("buckets", &self.buckets())
            .field("duration_ns", &self.duration_ns())
            .field("request_body_bytes", &self.request_body_bytes())
            .field("response_body_bytes", &self.response_body_bytes())
            .finish()
    }
}

/// The iterator of [`Metrics::routes`], in the snapshot's order (ascending
/// by prefix).
#[derive(Clone)]
pub struct MetricsRoutes<'a> {
    routes: slice::Iter<'a, sys::hw_metrics_route>,
    nbounds: usize,
}

impl<'a> MetricsRoutes<'a> {
    fn wrap(&self, raw: &'a sys::hw_metrics_route) -> MetricsRoute<'a> {
        MetricsRoute {
            raw,
            nbounds: self.nbounds,
        }
    }
}

impl<'a> Iterator for MetricsRoutes<'a> {
    type Item = MetricsRoute<'a>;

    fn next(&mut self) -> Option<MetricsRoute<'a>> {
        let raw = self.routes.next()?;
        Some(self.wrap(raw))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.routes.size_hint()
    }
}

impl<'a> DoubleEndedIterator for MetricsRoutes<'a> {
    fn next_back(&mut self) -> Option<MetricsRoute<'a>> {
        let raw = self.routes.next_back()?;
        Some(self.wrap(raw))
    }
}

impl ExactSizeIterator for MetricsRoutes<'_> {}

/// One process of the server in a [`Metrics`] snapshot
/// (`hw_metrics_process`), its memory and descriptors read from `/proc`
/// when the snapshot was taken (0 when they could not be read).
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct MetricsProcess<'a> {
    raw: sys::hw_metrics_process,
    _life: PhantomData<&'a c_char>,
}

impl<'a> MetricsProcess<'a> {
    /// `"master"`, `"worker"` or `"single"` (a server without master).
    pub fn role(&self) -> &'a str {
        // SAFETY: a process of a snapshot, whose names live as long.
        unsafe { name(self.raw.role) }
    }

    /// The worker slot (1 to the number of workers); 0 for the master or a
    /// single process.
    pub fn slot(&self) -> u32 {
        self.raw.slot
    }

    /// Its process id.
    pub fn pid(&self) -> i64 {
        self.raw.pid
    }

    /// Its resident memory, bytes.
    pub fn resident_bytes(&self) -> u64 {
        self.raw.resident_bytes
    }

    /// Its open file descriptors.
    pub fn open_fds(&self) -> u64 {
        self.raw.open_fds
    }

    /// The generation it serves (0 for the master).
    pub fn generation(&self) -> u64 {
        self.raw.generation
    }
}

impl fmt::Debug for MetricsProcess<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsProcess")
            .field("role", &self.role())
            .field("slot", &self.slot())
            .field("pid", &self.pid())
            .field("resident_bytes", &self.resident_bytes())
            .field("open_fds", &self.open_fds())
            .field("generation", &self.generation())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// TLS (ABI 1.5)

/// The TLS session a request came over (`hw_tls_info`, ABI 1.5), from
/// [`Request::tls`]: the protocol version, the cipher suite, the server
/// name the client asked for (SNI), the application protocol ALPN chose,
/// and whether the session was resumed from a session ticket.
///
/// The strings are borrowed from the server for the request's life (`'a`),
/// like the request's: copy what must outlive `handle`.  They are bytes, as
/// every string the server hands over is (the server name and the ALPN
/// protocol are what the client sent).
#[derive(Clone, Copy)]
pub struct TlsInfo<'a> {
    raw: &'a sys::hw_tls_info,
}

impl<'a> TlsInfo<'a> {
    /// Wraps a session's description: `None` for NULL, or for one whose
    /// `size` is shorter than this crate's `hw_tls_info` (which no 1.5
    /// server gives).
    ///
    /// # Safety
    /// `raw` is NULL or what the host returned from `tls`, for a request
    /// that stays valid for `'a`.
    pub unsafe fn from_raw(raw: *const sys::hw_tls_info) -> Option<TlsInfo<'a>> {
        if raw.is_null() {
            return None;
        }
        // Only `size` is read until it says the whole struct is there.
        if ptr::addr_of!((*raw).size).read() < std::mem::size_of::<sys::hw_tls_info>() {
            return None;
        }
        Some(TlsInfo { raw: &*raw })
    }

    /// The raw description, for what the safe layer does not cover.
    pub fn as_raw(&self) -> *const sys::hw_tls_info {
        self.raw
    }

    /// The protocol version: `b"TLSv1.2"` or `b"TLSv1.3"`.
    pub fn version(&self) -> &'a [u8] {
        // SAFETY: the session's strings live as long as it does.
        unsafe { bytes(self.raw.version) }
    }

    /// The cipher suite, as OpenSSL names it, e.g.
    /// `b"TLS_AES_128_GCM_SHA256"`.
    pub fn cipher(&self) -> &'a [u8] {
        // SAFETY: as for version.
        unsafe { bytes(self.raw.cipher) }
    }

    /// The server name the client asked for (SNI, RFC 6066), as it sent
    /// it; empty when it sent none.
    pub fn server_name(&self) -> &'a [u8] {
        // SAFETY: as for version.
        unsafe { bytes(self.raw.server_name) }
    }

    /// The application protocol ALPN chose (RFC 7301), e.g. `b"http/1.1"`;
    /// empty when the client offered none.
    pub fn alpn(&self) -> &'a [u8] {
        // SAFETY: as for version.
        unsafe { bytes(self.raw.alpn) }
    }

    /// Whether the session was resumed from a session ticket (an
    /// abbreviated handshake) rather than made anew.
    pub fn resumed(&self) -> bool {
        self.raw.resumed != 0
    }
}

impl fmt::Debug for TlsInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsInfo")
            .field("version", &String::from_utf8_lossy(self.version()))
            .field("cipher", &String::from_utf8_lossy(self.cipher()))
            .field("server_name", &String::from_utf8_lossy(self.server_name()))
            .field("alpn", &String::from_utf8_lossy(self.alpn()))
            .field("resumed", &self.resumed())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// The PROXY protocol (ABI 1.7)

/// What the load balancer in front said of a request's client
/// (`hw_proxy_info`, ABI 1.7), from [`Request::proxy`]: the PROXY protocol
/// header (version 1 or 2) the request's connection began with.  Its
/// client is what [`Request::peer`] returns; the balancer's own address is
/// [`socket_peer`](Self::socket_peer).
///
/// The strings are borrowed from the server for the request's life (`'a`),
/// like the request's: copy what must outlive `handle`.  They are bytes, as
/// every string the server hands over is, and empty when the header did
/// not carry them (a version 1 header carries no TLVs).
#[derive(Clone, Copy)]
pub struct ProxyInfo<'a> {
    raw: &'a sys::hw_proxy_info,
}

impl<'a> ProxyInfo<'a> {
    /// Wraps a header's description: `None` for NULL, or for one whose
    /// `size` is shorter than this crate's `hw_proxy_info` (which no 1.7
    /// server gives).
    ///
    /// # Safety
    /// `raw` is NULL or what the host returned from `proxy`, for a request
    /// that stays valid for `'a`.
    pub unsafe fn from_raw(raw: *const sys::hw_proxy_info) -> Option<ProxyInfo<'a>> {
        if raw.is_null() {
            return None;
        }
        // Only `size` is read until it says the whole struct is there.
        if ptr::addr_of!((*raw).size).read() < std::mem::size_of::<sys::hw_proxy_info>() {
            return None;
        }
        Some(ProxyInfo { raw: &*raw })
    }

    /// The raw description, for what the safe layer does not cover.
    pub fn as_raw(&self) -> *const sys::hw_proxy_info {
        self.raw
    }

    /// The header's version: 1 (text) or 2 (binary).
    pub fn version(&self) -> i32 {
        self.raw.version
    }

    /// Whether the connection is the balancer's own (a v2 `LOCAL` or a v1
    /// `UNKNOWN` header, as its health checks send): it carries no client.
    pub fn local(&self) -> bool {
        self.raw.local != 0
    }

    /// The client's address as the balancer saw it (`b"192.0.2.1:5678"`,
    /// `b"[2001:db8::1]:5678"`), which [`Request::peer`] returns too; empty
    /// when the header named none (`local`, or a UNIX socket's client).
    pub fn client(&self) -> &'a [u8] {
        // SAFETY: the description's strings live as long as it does.
        unsafe { bytes(self.raw.client) }
    }

    /// The address the client connected to (the balancer's frontend).
    pub fn server(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.server) }
    }

    /// The balancer: the TCP connection's own peer.
    pub fn socket_peer(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.socket_peer) }
    }

    /// Version 2's TLVs exactly as sent (each a type byte, a 2-byte
    /// big-endian length, the value); empty for version 1.  See also
    /// [`Request::proxy_tlv`].
    pub fn tlvs(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.tlvs) }
    }

    /// `PP2_TYPE_ALPN`: the protocol the client's TLS session chose.
    pub fn alpn(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.alpn) }
    }

    /// `PP2_TYPE_AUTHORITY`: the host name the client asked for (its SNI).
    pub fn authority(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.authority) }
    }

    /// `PP2_TYPE_UNIQUE_ID`: the balancer's ID of the connection (binary,
    /// at most 128 bytes).
    pub fn unique_id(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.unique_id) }
    }

    /// `PP2_TYPE_SSL`'s client bits: 0x01 the client came over TLS, 0x02
    /// it sent a certificate on this connection, 0x04 in its session; 0
    /// without that TLV.
    pub fn ssl_client(&self) -> u32 {
        self.raw.ssl_client
    }

    /// `PP2_TYPE_SSL`'s verify: 0 when a client certificate was verified.
    pub fn ssl_verify(&self) -> u32 {
        self.raw.ssl_verify
    }

    /// `PP2_SUBTYPE_SSL_VERSION`, e.g. `b"TLSv1.3"`.
    pub fn ssl_version(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.ssl_version) }
    }

    /// `PP2_SUBTYPE_SSL_CIPHER`, e.g. `b"ECDHE-RSA-AES128-GCM-SHA256"`.
    pub fn ssl_cipher(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.ssl_cipher) }
    }

    /// `PP2_SUBTYPE_SSL_SIG_ALG`: the client certificate's signature
    /// algorithm.
    pub fn ssl_sig_alg(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.ssl_sig_alg) }
    }

    /// `PP2_SUBTYPE_SSL_KEY_ALG`: the client certificate's key algorithm.
    pub fn ssl_key_alg(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.ssl_key_alg) }
    }

    /// `PP2_SUBTYPE_SSL_CN`: the client certificate's Common Name.
    pub fn ssl_cn(&self) -> &'a [u8] {
        // SAFETY: as for client.
        unsafe { bytes(self.raw.ssl_cn) }
    }
}

impl fmt::Debug for ProxyInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        f.debug_struct("ProxyInfo")
            .field("version", &self.version())
            .field("local", &self.local())
            .field("client", &text(self.client()))
            .field("server", &text(self.server()))
            .field("socket_peer", &text(self.socket_peer()))
            .field("tlvs", &self.tlvs().len())
            .field("alpn", &text(self.alpn()))
            .field("authority", &text(self.authority()))
            .field("unique_id", &self.unique_id())
            .field("ssl_client", &self.ssl_client())
            .field("ssl_verify", &self.ssl_verify())
            .field("ssl_version", &text(self.ssl_version()))
            .field("ssl_cipher", &text(self.ssl_cipher()))
            .field("ssl_sig_alg", &text(self.ssl_sig_alg()))
            .field("ssl_key_alg", &text(self.ssl_key_alg()))
            .field("ssl_cn", &text(self.ssl_cn()))
            .finish()
    }
}

// ---------------------------------------------------------------------------
// The response

/// The response being built.  Everything given to it is copied by the
/// server before the call returns.  What was written is discarded if
/// `handle` fails or declines.
pub struct Response<'a> {
    host: *const hw_host,
    raw: *mut hw_response,
    _life: PhantomData<&'a mut hw_response>,
}

impl<'a> Response<'a> {
    /// Wraps a response.
    ///
    /// # Safety
    /// `host` is the module's host table and `raw` the response of a request
    /// being handled, valid for `'a`.
    pub unsafe fn from_raw(host: *const hw_host, raw: *mut hw_response) -> Response<'a> {
        Response {
            host,
            raw,
            _life: PhantomData,
        }
    }

    /// The raw response, for what the safe layer does not cover.
    pub fn as_raw(&self) -> *mut hw_response {
        self.raw
    }

    /// Sets the final status (200 to 999; 200 is the default).  A 204 or
    /// 304 response goes without a body whatever was written.
    pub fn set_status(&mut self, status: u16) -> Result<(), Error> {
        let f = host_fn!(self.host, set_status).ok_or(Error::Missing { call: "set_status" })?;
        // SAFETY: the response of a request being handled.
        check("set_status", unsafe { f(self.raw, c_int::from(status)) })
    }

    /// Adds a header field.  `Date`, `Server`, `Content-Length`,
    /// `Transfer-Encoding` and `Connection` are the server's and refused
    /// (`HW_EINVAL`), as is a name or value holding CR or LF.
    pub fn header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), Error> {
        let f = host_fn!(self.host, add_header).ok_or(Error::Missing { call: "add_header" })?;
        let (name, value) = (name.as_ref(), value.as_ref());
        // SAFETY: both are borrowed for the call and copied by the host.
        check("add_header", unsafe {
            f(
                self.raw,
                name.as_ptr() as *const c_char,
                name.len(),
                value.as_ptr() as *const c_char,
                value.len(),
            )
        })
    }

    /// Appends body bytes.
    pub fn write(&mut self, data: impl AsRef<[u8]>) -> Result<(), Error> {
        let data = data.as_ref();
        if data.is_empty() {
            return Ok(());
        }
        let f = host_fn!(self.host, write).ok_or(Error::Missing { call: "write" })?;
        // SAFETY: borrowed for the call and copied by the host.
        check("write", unsafe {
            f(self.raw, data.as_ptr() as *const c_void, data.len())
        })
    }

    /// Appends formatted text, so that `write!(res, "{} items", n)?` works
    /// (the macro calls this method) with the SDK's [`Error`].
    pub fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> Result<(), Error> {
        match args.as_str() {
            Some(s) => self.write(s),
            None => self.write(args.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------
// The module

/// A Haywire module: one value per route, created by `init` from the
/// route's config, asked to `handle` each request of that route, and
/// dropped (the module's `fini`) when the route goes away, at shutdown or
/// after a reload.  All calls come from the worker's loop thread, so the
/// type need not be `Send` or `Sync`.  Export it with [`module!`].
pub trait Module: Sized + 'static {
    /// Creates the state of one route.  `config` is valid during this call
    /// only.  An `Err` is the one-line reason the server prints (prefixed
    /// with its config file) before refusing to start or to reload.  This
    /// also runs under `haywire -t`, in a short-lived process: claim no
    /// exclusive resources here.
    fn init(host: &Host, config: &Config<'_>) -> Result<Self, String>;

    /// Answers one request, synchronously: the response is complete when
    /// this returns `Ok(Outcome::Handled)`.  `Err` makes the server discard
    /// what was written and answer `500` (`HW_ERROR`); the SDK logs it.
    fn handle(&self, req: &Request<'_>, res: &mut Response<'_>) -> Result<Outcome, Error>;
}

/// Exports a [`Module`] as the library's `hw_module_entry` descriptor:
/// `haywire::module!(MyModule, "name");` with the crate's version from
/// `Cargo.toml`, or `haywire::module!(MyModule, "name", "1.2");`.  Use it
/// once, in a crate built as a `cdylib`.  The `extern "C"` entry points it
/// defines call the SDK's trampolines, which catch every panic.
#[macro_export]
macro_rules! module {
    // The inner rule comes first: `@entry` must not be tried as a type.
    (@entry $ty:ty, $cname:expr, $cversion:expr) => {
        // In an anonymous const, so that the entry points' names cannot
        // clash with the crate's own; only the descriptor is exported.
        const _: () = {
            use ::std::ffi::c_void;
            use ::std::os::raw::{c_char, c_int};
            use $crate::sys::{hw_host, hw_request, hw_response};

            unsafe extern "C" fn init(
                host: *const hw_host,
                config: *const c_char,
                config_len: usize,
                state: *mut *mut c_void,
                err: *mut c_char,
                err_len: usize,
            ) -> c_int {
                $crate::__private::init::<$ty>($cname, host, config, config_len, state, err, err_len)
            }

            unsafe extern "C" fn handle(
                state: *mut c_void,
                req: *mut hw_request,
                res: *mut hw_response,
            ) -> $crate::sys::hw_handle_result {
                $crate::__private::handle::<$ty>(state, req, res)
            }

            unsafe extern "C" fn fini(state: *mut c_void) {
                $crate::__private::fini::<$ty>(state)
            }

            #[no_mangle]
            #[allow(non_upper_case_globals)]
            pub static hw_module_entry: $crate::sys::ModuleEntry = $crate::sys::ModuleEntry($crate::sys::hw_module {
                abi_major: $crate::sys::HW_ABI_MAJOR,
                abi_minor: $crate::sys::HW_ABI_MINOR,
                size: ::std::mem::size_of::<$crate::sys::hw_module>(),
                name: $crate::__private::c_str($cname),
                version: $crate::__private::c_str($cversion),
                init: Some(init),
                handle: Some(handle),
                fini: Some(fini),
                // Answers are synchronous: there are never deferred
                // requests to give up on.
                abort: None,
            });
        };
    };
    ($ty:ty, $name:literal) => {
        $crate::module!(@entry $ty, concat!($name, "\0"), concat!(env!("CARGO_PKG_VERSION"), "\0"));
    };
    ($ty:ty, $name:literal, $version:literal) => {
        $crate::module!(@entry $ty, concat!($name, "\0"), concat!($version, "\0"));
    };
}

/// The machinery behind [`module!`]; not a stable interface.
#[doc(hidden)]
pub mod __private {
    use super::*;

    /// A string literal ending in NUL as a C string; a compile-time error
    /// (the descriptor is a static) for one that does not end in NUL or
    /// holds another.
    pub const fn c_str(s: &'static str) -> *const c_char {
        let b = s.as_bytes();
        if b.is_empty() || b[b.len() - 1] != 0 {
            panic!("haywire::module!: the string must end in NUL");
        }
        let mut i = 0;
        while i + 1 < b.len() {
            if b[i] == 0 {
                panic!("haywire::module!: a name or version may not hold a NUL byte");
            }
            i += 1;
        }
        b.as_ptr() as *const c_char
    }

    /// What the trampolines keep per route: the module's value and what
    /// reporting its failures needs.
    pub struct State<M> {
        module: M,
        host: Host,
        name: &'static str,
        reported_at: Cell<Option<Instant>>,
        unreported: Cell<u64>,
    }

    impl<M> State<M> {
        /// Logs a failure of `handle`, at most once a second (as the server
        /// reports HW_ERROR), counting those left out in between: a client
        /// can cause failures at will, and must not flood the log with them.
        fn report(&self, what: fmt::Arguments<'_>) {
            let now = Instant::now();
            if let Some(at) = self.reported_at.get() {
                if now.saturating_duration_since(at) < Duration::from_secs(1) {
                    self.unreported.set(self.unreported.get().saturating_add(1));
                    return;
                }
            }
            let more = self.unreported.replace(0);
            let line = if more > 0 {
                format!(
                    "{}: {} (and {} more since the last report)",
                    self.name, what, more
                )
            } else {
                format!("{}: {}", self.name, what)
            };
            self.host.error(&line);
            self.reported_at.set(Some(now));
        }
    }

    thread_local! {
        /// True while a trampoline runs module code under catch_unwind.
        static CATCHING: Cell<bool> = const { Cell::new(false) };
        /// Where the last panic caught on this thread happened.
        static PLACE: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    static HOOK: Once = Once::new();

    /// Installs, once, the panic hook that keeps the place of a panic the
    /// trampolines will catch (for their log line) instead of printing
    /// Rust's report to stderr, which is the server's log: several lines,
    /// a backtrace with RUST_BACKTRACE, and one per panic, where a client
    /// can cause panics at will.  Any other panic goes to the hook that was
    /// there before.
    fn install_hook() {
        HOOK.call_once(|| {
            let previous = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if CATCHING.try_with(Cell::get).unwrap_or(false) {
                    if let Some(l) = info.location() {
                        let place = format!("{}:{}:{}", l.file(), l.line(), l.column());
                        let _ =
                            PLACE.try_with(|p| p.try_borrow_mut().map(|mut p| *p = Some(place)));
                    }
                } else {
                    previous(info);
                }
            }));
        });
    }

    /// A panic caught by [`catching`]: its payload and where it happened
    /// (when the hook saw it).
    struct Caught {
        payload: Box<dyn std::any::Any + Send>,
        place: Option<String>,
    }

    impl Caught {
        /// `"<what> panicked[ at <place>]: <message>"`.
        fn describe(&self, what: &str) -> String {
            match &self.place {
                Some(place) => format!(
                    "{} panicked at {}: {}",
                    what,
                    place,
                    panic_message(&*self.payload)
                ),
                None => format!("{} panicked: {}", what, panic_message(&*self.payload)),
            }
        }

        fn dispose(self) {
            drop_payload(self.payload)
        }
    }

    /// Runs module code under catch_unwind, telling the hook so.
    fn catching<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
        let was = CATCHING.with(|c| c.replace(true));
        let _ = PLACE.try_with(|p| p.try_borrow_mut().map(|mut p| *p = None));
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        CATCHING.with(|c| c.set(was));
        result.map_err(|payload| Caught {
            payload,
            place: PLACE
                .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()))
                .ok()
                .flatten(),
        })
    }

    /// The message of a panic, as `panic!` makes them (`&str` or `String`).
    fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
        if let Some(s) = payload.downcast_ref::<&'static str>() {
            s
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s
        } else {
            "a panic without a message"
        }
    }

    /// Disposes of a panic's payload without risking another panic: the
    /// `&str` and `String` of `panic!` drop quietly, while another payload
    /// (`panic_any`) could panic in its own `Drop`, so it is leaked instead.
    fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
        if payload.is::<&'static str>() || payload.is::<String>() {
            drop(payload);
        } else {
            std::mem::forget(payload);
        }
    }

    /// Runs SDK code that should not panic (formatting, logging) so that
    /// even if it does, nothing unwinds into C: `fallback` is returned.
    fn guard<R>(fallback: R, f: impl FnOnce() -> R) -> R {
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => r,
            Err(payload) => {
                drop_payload(payload);
                fallback
            }
        }
    }

    /// Copies `msg` into the host's `err` buffer as one line, cut at a
    /// character boundary to fit, NUL-terminated.
    unsafe fn write_err(err: *mut c_char, err_len: usize, msg: &str) {
        if err.is_null() || err_len == 0 {
            return;
        }
        let line: String = msg
            .chars()
            .map(|c| {
                if c == '\n' || c == '\r' || c == '\0' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let mut n = line.len().min(err_len - 1);
        while !line.is_char_boundary(n) {
            n -= 1;
        }
        ptr::copy_nonoverlapping(line.as_ptr() as *const c_char, err, n);
        *err.add(n) = 0;
    }

    /// The module's name without the NUL the descriptor needs.
    fn strip_nul(cname: &'static str) -> &'static str {
        cname.strip_suffix('\0').unwrap_or(cname)
    }

    /// `hw_module.init` for `M`.
    ///
    /// # Safety
    /// Called by the server as `init` (see `haywire.h`).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn init<M: Module>(
        cname: &'static str,
        host: *const hw_host,
        config: *const c_char,
        config_len: usize,
        state: *mut *mut c_void,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int {
        guard(-1, || {
            let name = strip_nul(cname);
            if host.is_null() || state.is_null() {
                write_err(
                    err,
                    err_len,
                    &format!("{}: init without a host table or state pointer", name),
                );
                return -1;
            }
            install_hook();
            let run = catching(|| {
                let h = Host::from_raw(host);
                let conf = Config::from_init(host, config, config_len);
                M::init(&h, &conf)
            });
            match run {
                Ok(Ok(module)) => {
                    let st = Box::new(State {
                        module,
                        host: Host::from_raw(host),
                        name,
                        reported_at: Cell::new(None),
                        unreported: Cell::new(0),
                    });
                    *state = Box::into_raw(st) as *mut c_void;
                    0
                }
                Ok(Err(msg)) => {
                    let msg = if msg.is_empty() {
                        format!("{}: init failed", name)
                    } else {
                        msg
                    };
                    write_err(err, err_len, &msg);
                    -1
                }
                Err(caught) => {
                    write_err(
                        err,
                        err_len,
                        &format!("{}: {}", name, caught.describe("init")),
                    );
                    caught.dispose();
                    -1
                }
            }
        })
    }

    /// `hw_module.handle` for `M`.
    ///
    /// # Safety
    /// Called by the server as `handle`, with a state `init::<M>` made.
    pub unsafe fn handle<M: Module>(
        state: *mut c_void,
        req: *mut hw_request,
        res: *mut hw_response,
    ) -> sys::hw_handle_result {
        guard(sys::HW_ERROR, || {
            if state.is_null() || req.is_null() || res.is_null() {
                return sys::HW_ERROR;
            }
            let st = &*(state as *const State<M>);
            let request = Request::from_raw(st.host.raw, req);
            let mut response = Response::from_raw(st.host.raw, res);
            match catching(|| st.module.handle(&request, &mut response)) {
                Ok(Ok(Outcome::Handled)) => sys::HW_HANDLED,
                Ok(Ok(Outcome::Declined)) => sys::HW_DECLINED,
                Ok(Err(e)) => {
                    st.report(format_args!("handle failed: {}", e));
                    sys::HW_ERROR
                }
                Err(caught) => {
                    st.report(format_args!("{}", caught.describe("handle")));
                    caught.dispose();
                    sys::HW_ERROR
                }
            }
        })
    }

    /// `hw_module.fini` for `M`: drops the module's value.
    ///
    /// # Safety
    /// Called by the server as `fini`, once, with a state `init::<M>` made.
    pub unsafe fn fini<M: Module>(state: *mut c_void) {
        guard((), || {
            if state.is_null() {
                return;
            }
            let st = Box::from_raw(state as *mut State<M>);
            let (host, name) = (st.host, st.name);
            if let Err(caught) = catching(move || drop(st)) {
                host.error(&format!("{}: {}", name, caught.describe("fini (drop)")));
                caught.dispose();
            }
        })
    }
}

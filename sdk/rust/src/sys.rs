//! sys.rs - the raw module ABI of `include/haywire.h` (ABI 1.7), written by
//! hand: the constants, the opaque types, `hw_str`, the TLS session
//! (`hw_tls_info`), the PROXY protocol header (`hw_proxy_info`), the
//! metrics snapshot (`hw_metrics` and its parts), the
//! callback types, the host's function
//! table `hw_host` and the module descriptor `hw_module`, member for member
//! in the header's order.  Nothing here is safe to use
//! without reading the header; `tests/layout.rs` compiles a C program
//! against the real header and checks every size and offset below.
//!
//! The names are the C names, so that the header documents them.  C enums
//! are `c_int` aliases with constants rather than Rust enums: a value the
//! other side sends that no Rust variant names would be undefined
//! behaviour, an integer never is.
#![allow(non_camel_case_types)]

use std::ffi::c_void;
use std::marker::{PhantomData, PhantomPinned};
use std::os::raw::{c_char, c_int, c_uint};

/// ABI major version: the server refuses a module built for another one.
pub const HW_ABI_MAJOR: u32 = 1;
/// ABI minor version this crate was written against (members are only ever
/// appended; see the history at the top of `haywire.h`).
pub const HW_ABI_MINOR: u32 = 7;
/// The one symbol a module exports: `const hw_module hw_module_entry`.
pub const HW_MODULE_SYMBOL: &str = "hw_module_entry";

// Opaque types: only ever handled through pointers.  The zero-sized array
// plus the PhantomData is the usual FFI idiom: not constructible, not
// Send/Sync/Unpin, so Rust assumes nothing about what lies behind them.

/// A request seen by a module.  Opaque; owned by the host.
#[repr(C)]
pub struct hw_request {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// The response being built for one request.  Opaque; owned by the host.
#[repr(C)]
pub struct hw_response {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A response header field checked once by `header_prepare` (ABI 1.1).
/// Opaque; owned by the module until `header_free`.
#[repr(C)]
pub struct hw_header {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A value in a route's "config" (ABI 1.2).  Opaque; the host's, valid
/// until `init` returns.
#[repr(C)]
pub struct hw_conf {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// libuv's `uv_loop_t`, opaque here as in the header.
#[repr(C)]
pub struct uv_loop_s {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `enum hw_conf_type`: the type of a config value.
pub type hw_conf_type = c_int;
/// No such value (a NULL handle, a missing key).
pub const HW_CONF_ABSENT: hw_conf_type = 0;
/// JSON `null`.
pub const HW_CONF_NULL: hw_conf_type = 1;
/// JSON `true` or `false`.
pub const HW_CONF_BOOL: hw_conf_type = 2;
/// A JSON number without fraction or exponent.
pub const HW_CONF_INT: hw_conf_type = 3;
/// Any other JSON number.
pub const HW_CONF_NUMBER: hw_conf_type = 4;
/// A JSON string.
pub const HW_CONF_STRING: hw_conf_type = 5;
/// A JSON array.
pub const HW_CONF_ARRAY: hw_conf_type = 6;
/// A JSON object.
pub const HW_CONF_OBJECT: hw_conf_type = 7;

/// A byte string that is not NUL-terminated.  When the host returns one it
/// is borrowed (for the request's life, or until `init` returns for config
/// strings); `data` may be NULL when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hw_str {
    /// The bytes (not NUL-terminated).
    pub data: *const c_char,
    /// Their number.
    pub len: usize,
}

/// The TLS session a request came over (ABI 1.5), returned by
/// `hw_host.tls`.  Allocated for the request and borrowed as its strings
/// are (freed with it); the strings are NUL-terminated as well as counted.
/// `size` is what the host filled: members a later minor appends exist
/// only when `size` reaches past them.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hw_tls_info {
    /// sizeof(hw_tls_info) as the host filled it.
    pub size: usize,
    /// The protocol version: "TLSv1.2" or "TLSv1.3".
    pub version: hw_str,
    /// The cipher suite, as OpenSSL names it ("TLS_AES_128_GCM_SHA256").
    pub cipher: hw_str,
    /// The server name the client asked for (SNI), as it sent it; empty
    /// when it sent none.
    pub server_name: hw_str,
    /// The application protocol ALPN chose ("http/1.1"); empty when the
    /// client offered none.
    pub alpn: hw_str,
    /// Non-zero when the session was resumed from a session ticket.
    pub resumed: c_int,
}

/// What the load balancer in front said of a request's client (ABI 1.7),
/// returned by `hw_host.proxy` when the request's connection began with a
/// PROXY protocol header (version 1 or 2).  Allocated for the request and
/// borrowed as its strings are (freed with it); the strings are
/// NUL-terminated as well as counted, and empty when the header did not
/// carry them.  `size` is what the host filled: members a later minor
/// appends exist only when `size` reaches past them.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hw_proxy_info {
    /// sizeof(hw_proxy_info) as the host filled it.
    pub size: usize,
    /// The header's version: 1 (text) or 2 (binary).
    pub version: c_int,
    /// Non-zero for v2 LOCAL or v1 UNKNOWN: the balancer's own connection
    /// (its health checks), which carries no client.
    pub local: c_int,
    /// The client's address as the balancer saw it ("ip:port",
    /// "[ip]:port"): what `peer` returns; empty when the header named none.
    pub client: hw_str,
    /// The address the client connected to (the balancer's frontend).
    pub server: hw_str,
    /// The balancer: the TCP connection's own peer.
    pub socket_peer: hw_str,
    /// v2's TLVs exactly as sent (each a type byte, a 2-byte big-endian
    /// length, the value); empty for v1.
    pub tlvs: hw_str,
    /// PP2_TYPE_ALPN: the protocol the client's TLS session chose.
    pub alpn: hw_str,
    /// PP2_TYPE_AUTHORITY: the host name the client asked for (its SNI).
    pub authority: hw_str,
    /// PP2_TYPE_UNIQUE_ID: the balancer's ID of the connection (binary, at
    /// most 128 bytes).
    pub unique_id: hw_str,
    /// PP2_TYPE_SSL's client bits (0x01 TLS, 0x02 a certificate on this
    /// connection, 0x04 in its session); 0 without that TLV.
    pub ssl_client: u32,
    /// PP2_TYPE_SSL's verify: 0 when a client certificate was verified.
    pub ssl_verify: u32,
    /// PP2_SUBTYPE_SSL_VERSION ("TLSv1.3").
    pub ssl_version: hw_str,
    /// PP2_SUBTYPE_SSL_CIPHER.
    pub ssl_cipher: hw_str,
    /// PP2_SUBTYPE_SSL_SIG_ALG.
    pub ssl_sig_alg: hw_str,
    /// PP2_SUBTYPE_SSL_KEY_ALG.
    pub ssl_key_alg: hw_str,
    /// PP2_SUBTYPE_SSL_CN: the client certificate's Common Name.
    pub ssl_cn: hw_str,
}

/// One status code's count in a route's series (ABI 1.4).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hw_metrics_code {
    /// The status code, 100..599.
    pub code: u32,
    /// Responses with it.
    pub count: u64,
}

/// A named count (ABI 1.4): a label's value and its counter.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hw_metrics_count {
    /// The label value ("ok", "signal", "head", ...), NUL-terminated.
    pub name: *const c_char,
    /// Its counter.
    pub count: u64,
}

/// One route's series (ABI 1.4), summed over the worker slots and over
/// every generation that had a route with this prefix.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hw_metrics_route {
    /// The route's prefix; empty for requests that matched no route, `*`
    /// for routes past the table's capacity.
    pub prefix: hw_str,
    /// All its requests (the sum of `codes` and `other_codes`).
    pub requests: u64,
    /// Its counts by exact status, ascending by code (`ncodes` of them).
    pub codes: *const hw_metrics_code,
    /// The number of `codes`.
    pub ncodes: usize,
    /// Requests whose code did not fit the per-worker table of codes.
    pub other_codes: u64,
    /// Cumulative duration buckets: `buckets[i]` counts those up to
    /// `hw_metrics.bounds[i]` seconds, `buckets[nbounds]` all of them.
    pub buckets: *const u64,
    /// The sum of the durations, in nanoseconds.
    pub duration_ns: u64,
    /// Request body bytes received.
    pub request_body_bytes: u64,
    /// Response body bytes sent.
    pub response_body_bytes: u64,
}

/// One process of the server (ABI 1.4), read from /proc when the snapshot
/// is taken (0 when it could not be read).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hw_metrics_process {
    /// "master", "worker" or "single", NUL-terminated.
    pub role: *const c_char,
    /// The worker slot (1..workers); 0 for the master or a single process.
    pub slot: u32,
    /// Its process id.
    pub pid: i64,
    /// Resident memory, bytes.
    pub resident_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The generation it serves (0 for the master).
    pub generation: u64,
}

/// A snapshot of the server's counters (ABI 1.4), returned by
/// `hw_host.metrics`.  Everything it points to is the host's, borrowed like
/// the request's strings.  `size` is what the host filled: members a later
/// minor appends exist only when `size` reaches past them (a 1.4 server's
/// snapshot ends at `nprocesses`, without the TLS handshakes of 1.5).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hw_metrics {
    /// sizeof(hw_metrics) as the host filled it.
    pub size: usize,
    /// The server's version ("0.9.0"), NUL-terminated.
    pub version: *const c_char,
    /// The server's ABI ("1.7"), NUL-terminated.
    pub abi: *const c_char,
    /// When the server (its master) started, Unix time in seconds.
    pub start_time: f64,
    /// The generation serving new requests.
    pub generation: u64,
    /// When a reload last succeeded (Unix seconds), 0 if none has.
    pub last_reload_time: f64,
    /// Retired generations not yet unloaded, over all workers.
    pub generations_draining: u64,
    /// Worker processes configured (0: a single process serves).
    pub workers: u32,
    /// Reloads by result ("ok", "failed").
    pub reloads: *const hw_metrics_count,
    /// The number of `reloads`.
    pub nreloads: usize,
    /// Worker restarts by cause ("signal", "exit").
    pub restarts: *const hw_metrics_count,
    /// The number of `restarts`.
    pub nrestarts: usize,
    /// Connections accepted, over all workers.
    pub connections_accepted: u64,
    /// Open connections reading a request.
    pub connections_reading: u64,
    /// Open connections writing (or preparing) a response.
    pub connections_writing: u64,
    /// Open connections waiting idle between requests.
    pub connections_waiting: u64,
    /// Times a worker stopped accepting at `limits.connections`.
    pub accepts_paused: u64,
    /// Connections closed by a timeout, by its kind.
    pub timeouts: *const hw_metrics_count,
    /// The number of `timeouts`.
    pub ntimeouts: usize,
    /// The histogram's upper bounds in seconds, ascending.
    pub bounds: *const f64,
    /// The number of `bounds`.
    pub nbounds: usize,
    /// The routes' series, ascending by prefix.
    pub routes: *const hw_metrics_route,
    /// The number of `routes`.
    pub nroutes: usize,
    /// The master (if any), then each running worker.
    pub processes: *const hw_metrics_process,
    /// The number of `processes`.
    pub nprocesses: usize,
    /// TLS handshakes (ABI 1.5; check `size`) by how they ended: "full",
    /// "resumed" (from a session ticket), "failed".
    pub tls_handshakes: *const hw_metrics_count,
    /// The number of `tls_handshakes`.
    pub ntls_handshakes: usize,
}

/// `enum hw_handle_result`: what `handle` returns.
pub type hw_handle_result = c_int;
/// The response is complete.
pub const HW_HANDLED: hw_handle_result = 0;
/// Not mine: the host tries the next shorter prefix, then answers 404.
pub const HW_DECLINED: hw_handle_result = 1;
/// The module answers later with `host->finish(res)`.
pub const HW_DEFERRED: hw_handle_result = 2;
/// Failure: the host discards what was written and answers 500.
pub const HW_ERROR: hw_handle_result = -1;

/// `enum hw_log_level`.
pub type hw_log_level = c_int;
/// An error.
pub const HW_LOG_ERROR: hw_log_level = 0;
/// A warning.
pub const HW_LOG_WARN: hw_log_level = 1;
/// Information (the server's default threshold).
pub const HW_LOG_INFO: hw_log_level = 2;
/// Debugging detail.
pub const HW_LOG_DEBUG: hw_log_level = 3;

/// An argument is out of range or malformed.
pub const HW_EINVAL: c_int = -22;
/// The host could not allocate memory.
pub const HW_ENOMEM: c_int = -12;
/// No such header / index out of range / absent config value.
pub const HW_ENOENT: c_int = -2;
/// Called at the wrong time (e.g. after finish).
pub const HW_ESTATE: c_int = -71;
/// A queued work item that never ran (ABI 1.3).
pub const HW_ECANCELED: c_int = -125;
/// Not an error (ABI 1.3): a streamed write was taken but the output is past
/// its bound; write nothing more until the `on_writable` callback runs.
pub const HW_CONGESTED: c_int = 1;

/// Free callback for `write_ref` data.
pub type hw_free_cb = Option<unsafe extern "C" fn(arg: *mut c_void)>;
/// The client went away while a request was deferred or streaming.
pub type hw_abort_cb = Option<unsafe extern "C" fn(req: *mut hw_request, arg: *mut c_void)>;
/// A timer ran out (ABI 1.3).
pub type hw_timer_cb = Option<unsafe extern "C" fn(timer: i64, arg: *mut c_void)>;
/// Work run on a thread of the pool (ABI 1.3).
pub type hw_work_cb = Option<unsafe extern "C" fn(arg: *mut c_void)>;
/// After the work, on the loop thread (ABI 1.3).
pub type hw_work_done_cb =
    Option<unsafe extern "C" fn(req: *mut hw_request, arg: *mut c_void, status: c_int)>;
/// A congested streamed response may be written again (ABI 1.3).
pub type hw_writable_cb = Option<unsafe extern "C" fn(res: *mut hw_response, arg: *mut c_void)>;
/// A piece of a streamed request body (ABI 1.3).
pub type hw_body_cb =
    Option<unsafe extern "C" fn(req: *mut hw_request, arg: *mut c_void, piece: hw_str, end: c_int)>;

/// The host's function table, valid from `init` until `fini` returns.  A
/// host of an older minor has a shorter table: check `size` (see
/// [`hw_host_has!`](crate::hw_host_has)) before reading a member added after
/// 1.0, and never form a `&hw_host` to a table shorter than this struct.
/// Every member is an `Option` because C gives no guarantee it is set.
#[repr(C)]
pub struct hw_host {
    /// HW_ABI_MAJOR of the host.
    pub abi_major: u32,
    /// HW_ABI_MINOR of the host.
    pub abi_minor: u32,
    /// sizeof(hw_host) in the host: members beyond it do not exist.
    pub size: usize,

    // ---- the request (all results borrowed for the request's life) ----
    /// The method token as sent ("GET", also unknown ones; HEAD as "HEAD").
    pub method: Option<unsafe extern "C" fn(req: *const hw_request) -> hw_str>,
    /// The request target exactly as received, query included.
    pub target: Option<unsafe extern "C" fn(req: *const hw_request) -> hw_str>,
    /// The path part of the target.
    pub path: Option<unsafe extern "C" fn(req: *const hw_request) -> hw_str>,
    /// The query without the '?', empty if none.
    pub query: Option<unsafe extern "C" fn(req: *const hw_request) -> hw_str>,
    /// The route prefix that matched.
    pub prefix: Option<unsafe extern "C" fn(req: *const hw_request) -> hw_str>,
    /// The path after the prefix: "" or starting with '/'.
    pub rest: Option<unsafe extern "C" fn(req: *const hw_request) -> hw_str>,
    /// HTTP version as 10 or 11.
    pub version: Option<unsafe extern "C" fn(req: *const hw_request) -> c_int>,
    /// Case-insensitive header lookup: 0 and `*value`, or HW_ENOENT.
    pub header: Option<
        unsafe extern "C" fn(
            req: *const hw_request,
            name: *const c_char,
            name_len: usize,
            value: *mut hw_str,
        ) -> c_int,
    >,
    /// The number of header fields.
    pub header_count: Option<unsafe extern "C" fn(req: *const hw_request) -> usize>,
    /// Field `index`: 0 and `*name`, `*value`, or HW_ENOENT.
    pub header_at: Option<
        unsafe extern "C" fn(
            req: *const hw_request,
            index: usize,
            name: *mut hw_str,
            value: *mut hw_str,
        ) -> c_int,
    >,
    /// The whole request body (de-chunked); empty if none.
    pub body: Option<unsafe extern "C" fn(req: *const hw_request) -> hw_str>,
    /// The peer's address as NUL-terminated text in `buf`: its length or an
    /// error.
    pub peer: Option<
        unsafe extern "C" fn(req: *const hw_request, buf: *mut c_char, buf_len: usize) -> c_int,
    >,
    /// Scratch memory freed with the request, or NULL.
    pub alloc: Option<unsafe extern "C" fn(req: *mut hw_request, size: usize) -> *mut c_void>,
    /// Non-zero once the client has gone away.
    pub aborted: Option<unsafe extern "C" fn(req: *const hw_request) -> c_int>,
    /// Registers a callback for a client that goes away (see the header).
    pub on_abort:
        Option<unsafe extern "C" fn(req: *mut hw_request, cb: hw_abort_cb, arg: *mut c_void)>,

    // ---- the response ----
    /// Sets the final status (200-999), HW_EINVAL otherwise.
    pub set_status: Option<unsafe extern "C" fn(res: *mut hw_response, status: c_int) -> c_int>,
    /// Adds a header field (copied); the host's own fields are refused.
    pub add_header: Option<
        unsafe extern "C" fn(
            res: *mut hw_response,
            name: *const c_char,
            name_len: usize,
            value: *const c_char,
            value_len: usize,
        ) -> c_int,
    >,
    /// Appends body bytes (copied).
    pub write: Option<
        unsafe extern "C" fn(res: *mut hw_response, data: *const c_void, len: usize) -> c_int,
    >,
    /// Appends body bytes by reference until `free_cb(arg)` runs.
    pub write_ref: Option<
        unsafe extern "C" fn(
            res: *mut hw_response,
            data: *const c_void,
            len: usize,
            free_cb: hw_free_cb,
            arg: *mut c_void,
        ) -> c_int,
    >,
    /// Completes a deferred (or streamed) response.
    pub finish: Option<unsafe extern "C" fn(res: *mut hw_response) -> c_int>,

    // ---- the worker ----
    /// printf-style log line; variadic (the safe layer uses `log_str`, or
    /// this with "%.*s" on a host older than 1.2).
    pub log: Option<unsafe extern "C" fn(level: hw_log_level, fmt: *const c_char, ...)>,
    /// The worker's libuv loop.
    pub r#loop: Option<unsafe extern "C" fn() -> *mut uv_loop_s>,

    // ---- ABI 1.1: prepared headers ----
    /// Checks a header field once and keeps it for `add_prepared`.
    pub header_prepare: Option<
        unsafe extern "C" fn(
            name: *const c_char,
            name_len: usize,
            value: *const c_char,
            value_len: usize,
            out: *mut *mut hw_header,
        ) -> c_int,
    >,
    /// Adds a prepared header field to the response.
    pub add_prepared:
        Option<unsafe extern "C" fn(res: *mut hw_response, h: *const hw_header) -> c_int>,
    /// Frees a prepared header field (NULL allowed).
    pub header_free: Option<unsafe extern "C" fn(h: *mut hw_header)>,

    // ---- ABI 1.2 ----
    /// The request's host (absolute-form authority, else the Host field).
    pub host: Option<unsafe extern "C" fn(req: *const hw_request) -> hw_str>,
    /// Writes one log line given as a whole (not a format).
    pub log_str: Option<unsafe extern "C" fn(level: hw_log_level, message: hw_str)>,
    /// The root of the route's config (from `init` only).
    pub config: Option<unsafe extern "C" fn(config: *const c_char) -> *const hw_conf>,
    /// The value at `path` below `v`, or NULL.
    pub conf_find:
        Option<unsafe extern "C" fn(v: *const hw_conf, path: *const c_char) -> *const hw_conf>,
    /// The type of `v` (an `hw_conf_type`).
    pub conf_type: Option<unsafe extern "C" fn(v: *const hw_conf) -> c_int>,
    /// A string value.
    pub conf_string: Option<
        unsafe extern "C" fn(
            v: *const hw_conf,
            path: *const c_char,
            out: *mut hw_str,
            err: *mut c_char,
            err_len: usize,
        ) -> c_int,
    >,
    /// An integer value.
    pub conf_int: Option<
        unsafe extern "C" fn(
            v: *const hw_conf,
            path: *const c_char,
            out: *mut i64,
            err: *mut c_char,
            err_len: usize,
        ) -> c_int,
    >,
    /// Any number, as a double.
    pub conf_number: Option<
        unsafe extern "C" fn(
            v: *const hw_conf,
            path: *const c_char,
            out: *mut f64,
            err: *mut c_char,
            err_len: usize,
        ) -> c_int,
    >,
    /// true or false, as 1 or 0.
    pub conf_bool: Option<
        unsafe extern "C" fn(
            v: *const hw_conf,
            path: *const c_char,
            out: *mut c_int,
            err: *mut c_char,
            err_len: usize,
        ) -> c_int,
    >,
    /// Elements of an array or members of an object (0 otherwise).
    pub conf_count: Option<unsafe extern "C" fn(v: *const hw_conf) -> usize>,
    /// Element or member `index` (its key in `*key`), or NULL.
    pub conf_at: Option<
        unsafe extern "C" fn(v: *const hw_conf, index: usize, key: *mut hw_str) -> *const hw_conf,
    >,
    /// Checks that `v` is an object whose keys are all in the NULL-ended list.
    pub conf_keys: Option<
        unsafe extern "C" fn(
            v: *const hw_conf,
            keys: *const *const c_char,
            err: *mut c_char,
            err_len: usize,
        ) -> c_int,
    >,
    /// Writes `"<place of path>: <what>"` into `err`; returns HW_EINVAL.
    pub conf_error: Option<
        unsafe extern "C" fn(
            v: *const hw_conf,
            path: *const c_char,
            what: *const c_char,
            err: *mut c_char,
            err_len: usize,
        ) -> c_int,
    >,

    // ---- ABI 1.3 ----
    /// Starts a host timer: its handle (> 0) or a negative error.
    pub timer_start: Option<
        unsafe extern "C" fn(ms: u64, repeat: u64, cb: hw_timer_cb, arg: *mut c_void) -> i64,
    >,
    /// Stops a timer.
    pub timer_stop: Option<unsafe extern "C" fn(timer: i64) -> c_int>,
    /// Runs `work` on the thread pool, then `done` on the loop thread.
    pub queue_work: Option<
        unsafe extern "C" fn(
            req: *mut hw_request,
            work: hw_work_cb,
            done: hw_work_done_cb,
            arg: *mut c_void,
        ) -> c_int,
    >,
    /// Streams the response (`length` or -1 for unknown).
    pub stream: Option<unsafe extern "C" fn(res: *mut hw_response, length: i64) -> c_int>,
    /// Registers the callback for a drained congested stream.
    pub on_writable: Option<
        unsafe extern "C" fn(res: *mut hw_response, cb: hw_writable_cb, arg: *mut c_void) -> c_int,
    >,
    /// Appends a region of a file to a streamed response.
    pub write_file: Option<
        unsafe extern "C" fn(res: *mut hw_response, fd: c_int, offset: u64, length: u64) -> c_int,
    >,
    /// Takes a streamed request body piece by piece.
    pub body_stream: Option<
        unsafe extern "C" fn(req: *mut hw_request, cb: hw_body_cb, arg: *mut c_void) -> c_int,
    >,
    /// Holds the streamed body back, or lets it flow again.
    pub body_pause: Option<unsafe extern "C" fn(req: *mut hw_request, pause: c_int) -> c_int>,

    // ---- ABI 1.4 ----
    /// A snapshot of the server's counters, allocated for the request
    /// (borrowed as its strings are), or NULL.
    pub metrics: Option<unsafe extern "C" fn(req: *mut hw_request) -> *const hw_metrics>,

    // ---- ABI 1.5 ----
    /// The TLS session the request came over, allocated for the request
    /// (borrowed as its strings are), or NULL: plain TCP, the client gone,
    /// out of memory.
    pub tls: Option<unsafe extern "C" fn(req: *mut hw_request) -> *const hw_tls_info>,

    // ---- ABI 1.7 ----
    /// What the PROXY protocol header the request's connection began with
    /// said, allocated for the request (borrowed as its strings are), or
    /// NULL: no header, the client gone, out of memory.
    pub proxy: Option<unsafe extern "C" fn(req: *mut hw_request) -> *const hw_proxy_info>,
    /// The value of the first TLV of `type` (0x00-0xFF) in the connection's
    /// PROXY v2 header into `*out` (borrowed, not NUL-terminated): 0,
    /// HW_ENOENT (no such TLV), HW_ESTATE (no v2 header, or the client
    /// gone), HW_EINVAL (a bad argument).
    pub proxy_tlv: Option<
        unsafe extern "C" fn(req: *mut hw_request, r#type: c_uint, out: *mut hw_str) -> c_int,
    >,
}

/// `HW_HOST_HAS(host, member)`: true when the table `host` (a
/// `*const hw_host`) is long enough to hold `member`.  Expands to a call of
/// the unsafe [`host_has`], so it needs an `unsafe` block: the caller
/// promises `host` is a host table the server handed over.
///
/// ```
/// # use haywire::sys::hw_host;
/// # fn f(host: *const hw_host) -> bool {
/// unsafe { haywire::hw_host_has!(host, log_str) }
/// # }
/// ```
#[macro_export]
macro_rules! hw_host_has {
    ($host:expr, $member:ident) => {
        $crate::sys::host_has($host, $crate::member_extent!($crate::sys::hw_host, $member))
    };
}

/// Whether the table `host` reaches past `extent` (`(offset, size)` of a
/// member, from [`member_extent!`](crate::member_extent)).  Only `size` is
/// read, which every minor's table has, so this is fine on a table shorter
/// than [`hw_host`].
///
/// # Safety
/// `host` points to a host table (at least its ABI 1.0 part).
pub unsafe fn host_has(host: *const hw_host, extent: (usize, usize)) -> bool {
    std::ptr::addr_of!((*host).size).read() >= extent.0 + extent.1
}

/// `(offsetof(T, member), sizeof(member))` computed without `offset_of!`
/// (stable only since Rust 1.77): the address of the member of an
/// uninitialised `T`, taken with `addr_of!` so that no reference to
/// uninitialised memory is ever made.  Safe to use anywhere.
#[macro_export]
macro_rules! member_extent {
    ($ty:ty, $member:ident) => {{
        let probe = ::std::mem::MaybeUninit::<$ty>::uninit();
        let base = probe.as_ptr();
        // SAFETY: `base` points to a live (uninitialised) `$ty`; addr_of!
        // projects to the member in bounds without reading or referencing
        // it.  (allow: the block is redundant when expanded inside unsafe.)
        #[allow(unused_unsafe)]
        let member = unsafe { ::std::ptr::addr_of!((*base).$member) };
        (
            member as usize - base as usize,
            $crate::sys::pointee_size(member),
        )
    }};
}

/// The size of what `p` points to, from its type alone (a helper of
/// [`member_extent!`](crate::member_extent): the pointee may be
/// uninitialised, so `size_of_val` on a reference is not an option).
pub const fn pointee_size<T>(_p: *const T) -> usize {
    std::mem::size_of::<T>()
}

/// The module descriptor, exported as `hw_module_entry`.  Owned by the
/// module and read by the host while the module is loaded.
#[repr(C)]
pub struct hw_module {
    /// Must be HW_ABI_MAJOR.
    pub abi_major: u32,
    /// HW_ABI_MINOR the module was built against.
    pub abi_minor: u32,
    /// sizeof(hw_module) as the module saw it.
    pub size: usize,
    /// Short name for logs (NUL-terminated, static).
    pub name: *const c_char,
    /// The module's own version string (NUL-terminated, static).
    pub version: *const c_char,
    /// Creates the state for one route: 0 and `*state`, or non-zero with a
    /// one-line reason in `err`.
    pub init: Option<
        unsafe extern "C" fn(
            host: *const hw_host,
            config: *const c_char,
            config_len: usize,
            state: *mut *mut c_void,
            err: *mut c_char,
            err_len: usize,
        ) -> c_int,
    >,
    /// Handles one request.
    pub handle: Option<
        unsafe extern "C" fn(
            state: *mut c_void,
            req: *mut hw_request,
            res: *mut hw_response,
        ) -> hw_handle_result,
    >,
    /// Frees the state of one route (optional).
    pub fini: Option<unsafe extern "C" fn(state: *mut c_void)>,
    /// The host gives up on the module's deferred requests (optional).
    pub abort: Option<unsafe extern "C" fn(state: *mut c_void)>,
}

/// An [`hw_module`] that may be a `static`: the layout of `hw_module` itself
/// (`repr(transparent)`), marked `Sync`.
///
/// A `static` must be `Sync`, and `hw_module` is not because of its raw
/// `name`/`version` pointers.  Sharing it is sound: it has no interior
/// mutability, the pointers lead to immutable static strings (the
/// [`module!`](crate::module) macro only ever stores string literals) and
/// the function pointers are plain code addresses, so a `&ModuleEntry`
/// read from any thread sees only constant data.
#[repr(transparent)]
pub struct ModuleEntry(pub hw_module);

// SAFETY: see the type's documentation: immutable data and pointers to
// immutable statics only.  Building one with pointers to anything mutable is
// the builder's responsibility (the field is public for the raw ABI's sake).
unsafe impl Sync for ModuleEntry {}

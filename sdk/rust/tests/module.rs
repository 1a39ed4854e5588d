//! module.rs - drives the descriptor that `haywire::module!` exports through
//! its C entry points, against a fake server written here (a `hw_host` whose
//! functions read a `FakeReq`, fill a `FakeRes` and record log lines), the
//! way the real server calls them: the descriptor's fields, config reading
//! and its errors, the request views, the metrics snapshot (ABI 1.4), the
//! TLS session (ABI 1.5), the PROXY protocol header (ABI 1.7), the response
//! calls, and every failure path (`Err`,
//! panics in init, handle and drop, declining, a host call refused, a host
//! table or a struct of an older minor).  The real server runs the example
//! module in tests/integration/rust.py.

use std::cell::RefCell;
use std::ffi::{c_void, CStr};
use std::os::raw::{c_char, c_int};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use haywire::sys::{
    self, hw_conf, hw_host, hw_metrics, hw_metrics_code, hw_metrics_count, hw_metrics_process,
    hw_metrics_route, hw_proxy_info, hw_request, hw_response, hw_str, hw_tls_info, ModuleEntry,
};
use haywire::{
    Config, Error, Host, Metrics, Module, Outcome, ProxyInfo, Request, Response, TlsInfo,
};

// ---------------------------------------------------------------------------
// The module under test

static DROPS: AtomicUsize = AtomicUsize::new(0);

struct TestModule {
    host: Host,
    greeting: String,
    panic_in_drop: bool,
}

impl Module for TestModule {
    fn init(host: &Host, config: &Config<'_>) -> Result<Self, String> {
        config.keys(&["greeting", "fail", "panic", "panic_in_drop", "port"])?;
        if config.bool("panic")?.unwrap_or(false) {
            panic!("init told to panic");
        }
        if config.bool("fail")?.unwrap_or(false) {
            return Err("told to fail\nacross two lines".into());
        }
        if let Some(port) = config.int("port")? {
            if !(1..=65535).contains(&port) {
                return Err(config.error("port", "out of range"));
            }
        }
        Ok(TestModule {
            host: *host,
            greeting: config.str("greeting")?.unwrap_or("hello").to_string(),
            panic_in_drop: config.bool("panic_in_drop")?.unwrap_or(false),
        })
    }

    fn handle(&self, req: &Request<'_>, res: &mut Response<'_>) -> Result<Outcome, Error> {
        match req.rest() {
            b"/panic" => panic!(
                "handle told to panic at {}",
                String::from_utf8_lossy(req.path())
            ),
            b"/err" => return Err("bad thing".into()),
            b"/decline" => return Ok(Outcome::Declined),
            b"/own-field" => res.header("Content-Length", "1")?,
            b"/metrics" => {
                match req.metrics() {
                    None => res.write("no metrics")?,
                    Some(m) => {
                        write!(res, "generation={}", m.generation())?;
                        for route in m.routes() {
                            res.write(" ")?;
                            res.write(route.prefix())?;
                            write!(res, "={}", route.requests())?;
                        }
                    }
                }
                return Ok(Outcome::Handled);
            }
            b"/tls" => {
                match req.tls() {
                    None => res.write("plain")?,
                    Some(t) => {
                        res.write("version=")?;
                        res.write(t.version())?;
                        res.write(" cipher=")?;
                        res.write(t.cipher())?;
                        res.write(" sni=")?;
                        res.write(t.server_name())?;
                        res.write(" alpn=")?;
                        res.write(t.alpn())?;
                        write!(res, " resumed={}", t.resumed())?;
                    }
                }
                return Ok(Outcome::Handled);
            }
            b"/proxy" => {
                match req.proxy() {
                    None => res.write("direct")?,
                    Some(p) => {
                        write!(res, "v{} local={} client=", p.version(), p.local())?;
                        res.write(p.client())?;
                        res.write(" via=")?;
                        res.write(p.socket_peer())?;
                        res.write(" cn=")?;
                        res.write(p.ssl_cn())?;
                        write!(res, " ssl={:#x}/{}", p.ssl_client(), p.ssl_verify())?;
                    }
                }
                // A TLV the balancer may not have sent: its absence is no
                // failure of the request.
                match req.proxy_tlv(0xE0) {
                    Ok(v) => {
                        res.write(" tenant=")?;
                        res.write(v)?;
                    }
                    Err(e) => write!(res, " tenant: {}", e)?,
                }
                return Ok(Outcome::Handled);
            }
            _ => {}
        }
        self.host.info("handling");
        res.set_status(201)?;
        res.header("X-Method", req.method())?;
        let mut names = Vec::new();
        for (name, value) in req.headers() {
            names.push(format!(
                "{}={}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(value)
            ));
        }
        write!(
            res,
            "{} path={} query={} x-test={} host={} body={} version={:?} headers={}",
            self.greeting,
            String::from_utf8_lossy(req.path()),
            String::from_utf8_lossy(req.query()),
            String::from_utf8_lossy(req.header("x-TEST").unwrap_or(b"-")),
            String::from_utf8_lossy(req.authority()),
            String::from_utf8_lossy(req.body()),
            req.version(),
            names.join(",")
        )?;
        res.write("")?;
        res.write(b"!")?;
        Ok(Outcome::Handled)
    }
}

impl Drop for TestModule {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
        if self.panic_in_drop {
            panic!("drop told to panic");
        }
    }
}

haywire::module!(TestModule, "test");

// The descriptor is in an anonymous const: reach it by its symbol, as the
// server's dlsym does (which also proves the name it is exported under).
extern "C" {
    static hw_module_entry: ModuleEntry;
}

fn entry() -> &'static sys::hw_module {
    // SAFETY: defined by module! above, immutable.
    unsafe { &hw_module_entry.0 }
}

// ---------------------------------------------------------------------------
// The fake server

#[derive(Default)]
struct FakeReq {
    method: Vec<u8>,
    path: Vec<u8>,
    query: Vec<u8>,
    rest: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    /// What `metrics` returns for this request (NULL when `None`).
    metrics: Option<&'static hw_metrics>,
    /// What `tls` returns for this request (NULL when `None`: plain TCP,
    /// or the client gone).
    tls: Option<&'static hw_tls_info>,
    /// What `proxy` returns for this request (NULL when `None`: no PROXY
    /// header, or the client gone); `proxy_tlv` reads its `tlvs`.
    proxy: Option<&'static hw_proxy_info>,
}

#[derive(Default)]
struct FakeRes {
    status: c_int,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
}

/// A config value of the fake server.
#[derive(Clone)]
enum Val {
    Str(&'static str),
    Int(i64),
    Bool(bool),
}

/// The fake route config: a flat object.  `config()` returns a pointer to
/// it, a member is a pointer to its (key, value) pair.
struct FakeConf {
    members: Vec<(&'static str, Val)>,
}

thread_local! {
    static LOG: RefCell<Vec<(c_int, String)>> = const { RefCell::new(Vec::new()) };
    static CONF: RefCell<Option<Box<FakeConf>>> = const { RefCell::new(None) };
}

fn s(b: &[u8]) -> hw_str {
    hw_str {
        data: b.as_ptr() as *const c_char,
        len: b.len(),
    }
}

unsafe fn r<'a>(req: *const hw_request) -> &'a FakeReq {
    &*(req as *const FakeReq)
}

unsafe fn w<'a>(res: *mut hw_response) -> &'a mut FakeRes {
    &mut *(res as *mut FakeRes)
}

unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

unsafe fn put_err(err: *mut c_char, err_len: usize, msg: &str) {
    let n = msg.len().min(err_len - 1);
    ptr::copy_nonoverlapping(msg.as_ptr() as *const c_char, err, n);
    *err.add(n) = 0;
}

unsafe extern "C" fn f_method(req: *const hw_request) -> hw_str {
    s(&r(req).method)
}
unsafe extern "C" fn f_path(req: *const hw_request) -> hw_str {
    s(&r(req).path)
}
unsafe extern "C" fn f_query(req: *const hw_request) -> hw_str {
    s(&r(req).query)
}
unsafe extern "C" fn f_rest(req: *const hw_request) -> hw_str {
    s(&r(req).rest)
}
unsafe extern "C" fn f_body(req: *const hw_request) -> hw_str {
    s(&r(req).body)
}
unsafe extern "C" fn f_version(_req: *const hw_request) -> c_int {
    10
}
unsafe extern "C" fn f_header(
    req: *const hw_request,
    name: *const c_char,
    len: usize,
    out: *mut hw_str,
) -> c_int {
    let name = std::slice::from_raw_parts(name as *const u8, len);
    for (n, v) in &r(req).headers {
        if n.eq_ignore_ascii_case(name) {
            *out = s(v);
            return 0;
        }
    }
    sys::HW_ENOENT
}
unsafe extern "C" fn f_header_count(req: *const hw_request) -> usize {
    r(req).headers.len()
}
unsafe extern "C" fn f_header_at(
    req: *const hw_request,
    i: usize,
    name: *mut hw_str,
    value: *mut hw_str,
) -> c_int {
    match r(req).headers.get(i) {
        Some((n, v)) => {
            *name = s(n);
            *value = s(v);
            0
        }
        None => sys::HW_ENOENT,
    }
}
unsafe extern "C" fn f_host(_req: *const hw_request) -> hw_str {
    s(b"a.example:8080")
}
unsafe extern "C" fn f_metrics(req: *mut hw_request) -> *const hw_metrics {
    r(req)
        .metrics
        .map_or(ptr::null(), |m| m as *const hw_metrics)
}
unsafe extern "C" fn f_tls(req: *mut hw_request) -> *const hw_tls_info {
    r(req).tls.map_or(ptr::null(), |t| t as *const hw_tls_info)
}
unsafe extern "C" fn f_proxy(req: *mut hw_request) -> *const hw_proxy_info {
    r(req)
        .proxy
        .map_or(ptr::null(), |p| p as *const hw_proxy_info)
}
/// The first TLV of `ty` in `tlvs` (type, 2-byte big-endian length,
/// value), looking inside PP2_TYPE_SSL (0x20: client bits, verify, then
/// sub-TLVs) for the sub-types 0x21-0x25, as the server does.
fn find_tlv(tlvs: &[u8], ty: u8) -> Option<&[u8]> {
    let mut at = 0;
    while at + 3 <= tlvs.len() {
        let len = u16::from_be_bytes([tlvs[at + 1], tlvs[at + 2]]) as usize;
        let value = &tlvs[at + 3..at + 3 + len];
        if tlvs[at] == ty {
            return Some(value);
        }
        if tlvs[at] == 0x20 && (0x21..=0x25).contains(&ty) && value.len() >= 5 {
            if let Some(v) = find_tlv(&value[5..], ty) {
                return Some(v);
            }
        }
        at += 3 + len;
    }
    None
}
unsafe extern "C" fn f_proxy_tlv(
    req: *mut hw_request,
    ty: std::os::raw::c_uint,
    out: *mut hw_str,
) -> c_int {
    if ty > 0xFF || out.is_null() {
        return sys::HW_EINVAL;
    }
    let p = match r(req).proxy {
        Some(p) if p.version == 2 => p,
        _ => return sys::HW_ESTATE, // no v2 header
    };
    let tlvs = if p.tlvs.len == 0 {
        &[][..]
    } else {
        std::slice::from_raw_parts(p.tlvs.data as *const u8, p.tlvs.len)
    };
    match find_tlv(tlvs, ty as u8) {
        Some(v) => {
            *out = s(v);
            0
        }
        None => sys::HW_ENOENT,
    }
}
unsafe extern "C" fn f_set_status(res: *mut hw_response, status: c_int) -> c_int {
    if !(200..=999).contains(&status) {
        return sys::HW_EINVAL;
    }
    w(res).status = status;
    0
}
unsafe extern "C" fn f_add_header(
    res: *mut hw_response,
    n: *const c_char,
    nl: usize,
    v: *const c_char,
    vl: usize,
) -> c_int {
    let name = std::slice::from_raw_parts(n as *const u8, nl).to_vec();
    if name.eq_ignore_ascii_case(b"content-length") {
        return sys::HW_EINVAL;
    }
    w(res).headers.push((
        name,
        std::slice::from_raw_parts(v as *const u8, vl).to_vec(),
    ));
    0
}
unsafe extern "C" fn f_write(res: *mut hw_response, data: *const c_void, len: usize) -> c_int {
    assert!(len > 0, "the SDK skips empty writes");
    w(res)
        .body
        .extend_from_slice(std::slice::from_raw_parts(data as *const u8, len));
    0
}
unsafe extern "C" fn f_log_str(level: c_int, m: hw_str) {
    let m = String::from_utf8_lossy(std::slice::from_raw_parts(m.data as *const u8, m.len))
        .into_owned();
    LOG.with(|l| l.borrow_mut().push((level, m)));
}
unsafe extern "C" fn f_config(config: *const c_char) -> *const hw_conf {
    assert_eq!(text(config), "{json}", "config() gets init's own pointer");
    CONF.with(|c| {
        c.borrow()
            .as_ref()
            .map_or(ptr::null(), |b| &**b as *const FakeConf as *const hw_conf)
    })
}
/// The member `path` of the root, as the (key, value) pair it points to.
unsafe fn lookup(v: *const hw_conf, path: *const c_char) -> Option<&'static (&'static str, Val)> {
    let conf = &*(v as *const FakeConf);
    let key = text(path);
    conf.members.iter().find(|(k, _)| *k == key)
}
unsafe extern "C" fn f_conf_find(v: *const hw_conf, path: *const c_char) -> *const hw_conf {
    lookup(v, path).map_or(ptr::null(), |m| m as *const _ as *const hw_conf)
}
unsafe extern "C" fn f_conf_string(
    v: *const hw_conf,
    path: *const c_char,
    out: *mut hw_str,
    err: *mut c_char,
    n: usize,
) -> c_int {
    match lookup(v, path) {
        None => sys::HW_ENOENT,
        Some((_, Val::Str(x))) => {
            *out = s(x.as_bytes());
            0
        }
        Some((k, _)) => {
            put_err(
                err,
                n,
                &format!(
                    "routes[0].config.{}: expected a string, not another type",
                    k
                ),
            );
            sys::HW_EINVAL
        }
    }
}
unsafe extern "C" fn f_conf_int(
    v: *const hw_conf,
    path: *const c_char,
    out: *mut i64,
    err: *mut c_char,
    n: usize,
) -> c_int {
    match lookup(v, path) {
        None => sys::HW_ENOENT,
        Some((_, Val::Int(x))) => {
            *out = *x;
            0
        }
        Some((k, _)) => {
            put_err(
                err,
                n,
                &format!("routes[0].config.{}: expected an integer", k),
            );
            sys::HW_EINVAL
        }
    }
}
unsafe extern "C" fn f_conf_bool(
    v: *const hw_conf,
    path: *const c_char,
    out: *mut c_int,
    err: *mut c_char,
    n: usize,
) -> c_int {
    match lookup(v, path) {
        None => sys::HW_ENOENT,
        Some((_, Val::Bool(x))) => {
            *out = *x as c_int;
            0
        }
        Some((k, _)) => {
            put_err(
                err,
                n,
                &format!("routes[0].config.{}: expected true or false", k),
            );
            sys::HW_EINVAL
        }
    }
}
unsafe extern "C" fn f_conf_keys(
    v: *const hw_conf,
    keys: *const *const c_char,
    err: *mut c_char,
    n: usize,
) -> c_int {
    let conf = &*(v as *const FakeConf);
    let mut allowed = Vec::new();
    let mut p = keys;
    while !(*p).is_null() {
        allowed.push(text(*p));
        p = p.add(1);
    }
    for (k, _) in &conf.members {
        if !allowed.iter().any(|a| a == k) {
            put_err(err, n, &format!("routes[0].config: unknown key \"{}\"", k));
            return sys::HW_EINVAL;
        }
    }
    0
}
unsafe extern "C" fn f_conf_error(
    _v: *const hw_conf,
    path: *const c_char,
    what: *const c_char,
    err: *mut c_char,
    n: usize,
) -> c_int {
    put_err(
        err,
        n,
        &format!("routes[0].config.{}: {}", text(path), text(what)),
    );
    sys::HW_EINVAL
}

/// A 1.7 host table with what the fake server implements (the rest NULL).
fn fake_host() -> hw_host {
    hw_host {
        abi_major: sys::HW_ABI_MAJOR,
        abi_minor: sys::HW_ABI_MINOR,
        size: std::mem::size_of::<hw_host>(),
        method: Some(f_method),
        target: None,
        path: Some(f_path),
        query: Some(f_query),
        prefix: None,
        rest: Some(f_rest),
        version: Some(f_version),
        header: Some(f_header),
        header_count: Some(f_header_count),
        header_at: Some(f_header_at),
        body: Some(f_body),
        peer: None,
        alloc: None,
        aborted: None,
        on_abort: None,
        set_status: Some(f_set_status),
        add_header: Some(f_add_header),
        write: Some(f_write),
        write_ref: None,
        finish: None,
        log: None,
        r#loop: None,
        header_prepare: None,
        add_prepared: None,
        header_free: None,
        host: Some(f_host),
        log_str: Some(f_log_str),
        config: Some(f_config),
        conf_find: Some(f_conf_find),
        conf_type: None,
        conf_string: Some(f_conf_string),
        conf_int: Some(f_conf_int),
        conf_number: None,
        conf_bool: Some(f_conf_bool),
        conf_count: None,
        conf_at: None,
        conf_keys: Some(f_conf_keys),
        conf_error: Some(f_conf_error),
        timer_start: None,
        timer_stop: None,
        queue_work: None,
        stream: None,
        on_writable: None,
        write_file: None,
        body_stream: None,
        body_pause: None,
        metrics: Some(f_metrics),
        tls: Some(f_tls),
        proxy: Some(f_proxy),
        proxy_tlv: Some(f_proxy_tlv),
    }
}

/// Calls the descriptor's init as the server does: Ok(state) or Err(the
/// text in err).  The table is leaked: a state may keep it until fini.
fn init_with(
    host: &'static hw_host,
    members: Vec<(&'static str, Val)>,
    err_len: usize,
) -> Result<*mut c_void, String> {
    CONF.with(|c| *c.borrow_mut() = Some(Box::new(FakeConf { members })));
    let json = b"{json}\0";
    let mut state: *mut c_void = ptr::null_mut();
    let mut err = vec![b'#' as c_char; err_len.max(1)];
    // SAFETY: the arguments the header promises init.
    let rc = unsafe {
        (entry().init.unwrap())(
            host,
            json.as_ptr() as *const c_char,
            json.len() - 1,
            &mut state,
            err.as_mut_ptr(),
            err_len,
        )
    };
    if rc == 0 {
        assert!(!state.is_null());
        Ok(state)
    } else {
        let nul = err
            .iter()
            .position(|&c| c == 0)
            .expect("err is NUL-terminated within err_len");
        assert!(nul < err_len);
        Err(
            String::from_utf8(err[..nul].iter().map(|&c| c as u8).collect())
                .expect("err is cut at a char boundary"),
        )
    }
}

fn init(members: Vec<(&'static str, Val)>) -> Result<*mut c_void, String> {
    init_with(Box::leak(Box::new(fake_host())), members, 256)
}

fn handle(state: *mut c_void, req: &FakeReq) -> (c_int, FakeRes) {
    let mut res = FakeRes {
        status: 200,
        ..FakeRes::default()
    };
    // SAFETY: a state from init and a request/response pair of the fake.
    let rc = unsafe {
        (entry().handle.unwrap())(
            state,
            req as *const FakeReq as *mut hw_request,
            &mut res as *mut FakeRes as *mut hw_response,
        )
    };
    (rc, res)
}

fn fini(state: *mut c_void) {
    // SAFETY: a state from init, finalised once.
    unsafe { (entry().fini.unwrap())(state) }
}

fn take_log() -> Vec<(c_int, String)> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

fn get(rest: &str) -> FakeReq {
    FakeReq {
        method: b"GET".to_vec(),
        path: format!("/t{}", rest).into_bytes(),
        query: b"a=1".to_vec(),
        rest: rest.as_bytes().to_vec(),
        headers: vec![
            (b"Host".to_vec(), b"h".to_vec()),
            (b"X-Test".to_vec(), b"yes".to_vec()),
        ],
        body: b"payload".to_vec(),
        metrics: None,
        tls: None,
        proxy: None,
    }
}

/// A static NUL-terminated name.
fn c(name: &'static str) -> *const c_char {
    assert!(name.ends_with('\0'));
    name.as_ptr() as *const c_char
}

/// Leaks `v` for a snapshot that, like the server's, outlives the request.
fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

/// A snapshot as the server would give it: two bounds, two routes (the
/// unrouted "" and "/t"), a master and one worker, the TLS handshakes.
fn fake_metrics() -> &'static hw_metrics {
    let count = |name, count| hw_metrics_count {
        name: c(name),
        count,
    };
    let code = |code, count| hw_metrics_code { code, count };
    let routes = leak(vec![
        hw_metrics_route {
            prefix: s(b""),
            requests: 1,
            codes: leak(vec![code(404, 1)]).as_ptr(),
            ncodes: 1,
            other_codes: 0,
            buckets: leak(vec![1, 1, 1]).as_ptr(),
            duration_ns: 1000,
            request_body_bytes: 0,
            response_body_bytes: 13,
        },
        hw_metrics_route {
            prefix: s(b"/t"),
            requests: 8,
            codes: leak(vec![code(200, 5), code(404, 2)]).as_ptr(),
            ncodes: 2,
            other_codes: 1,
            buckets: leak(vec![3, 6, 8]).as_ptr(),
            duration_ns: 123_456,
            request_body_bytes: 10,
            response_body_bytes: 2000,
        },
    ]);
    let processes = leak(vec![
        hw_metrics_process {
            role: c("master\0"),
            slot: 0,
            pid: 100,
            resident_bytes: 8192,
            open_fds: 7,
            generation: 0,
        },
        hw_metrics_process {
            role: c("worker\0"),
            slot: 1,
            pid: 101,
            resident_bytes: 4096,
            open_fds: 12,
            generation: 3,
        },
    ]);
    let reloads = leak(vec![count("ok\0", 2), count("failed\0", 1)]);
    let restarts = leak(vec![count("signal\0", 1), count("exit\0", 0)]);
    let timeouts = leak(vec![count("keepalive\0", 4)]);
    let bounds = leak(vec![0.005, 0.1]);
    let tls_handshakes = leak(vec![
        count("full\0", 6),
        count("resumed\0", 4),
        count("failed\0", 2),
    ]);
    Box::leak(Box::new(hw_metrics {
        size: std::mem::size_of::<hw_metrics>(),
        version: c("0.9.0\0"),
        abi: c("1.5\0"),
        start_time: 1_700_000_000.5,
        generation: 3,
        last_reload_time: 1_700_000_100.25,
        generations_draining: 1,
        workers: 1,
        reloads: reloads.as_ptr(),
        nreloads: reloads.len(),
        restarts: restarts.as_ptr(),
        nrestarts: restarts.len(),
        connections_accepted: 42,
        connections_reading: 1,
        connections_writing: 2,
        connections_waiting: 3,
        accepts_paused: 5,
        timeouts: timeouts.as_ptr(),
        ntimeouts: timeouts.len(),
        bounds: bounds.as_ptr(),
        nbounds: bounds.len(),
        routes: routes.as_ptr(),
        nroutes: routes.len(),
        processes: processes.as_ptr(),
        nprocesses: processes.len(),
        tls_handshakes: tls_handshakes.as_ptr(),
        ntls_handshakes: tls_handshakes.len(),
    }))
}

/// The bytes before the NUL of a static NUL-terminated string, as the
/// server gives hw_tls_info's strings: counted and NUL-terminated.
fn cs(text: &'static [u8]) -> hw_str {
    assert_eq!(text.last(), Some(&0));
    hw_str {
        data: text.as_ptr() as *const c_char,
        len: text.len() - 1,
    }
}

/// A TLS session as the server would describe it.
fn fake_tls() -> &'static hw_tls_info {
    Box::leak(Box::new(hw_tls_info {
        size: std::mem::size_of::<hw_tls_info>(),
        version: cs(b"TLSv1.3\0"),
        cipher: cs(b"TLS_AES_128_GCM_SHA256\0"),
        server_name: cs(b"a.example\0"),
        alpn: cs(b"http/1.1\0"),
        resumed: 1,
    }))
}

/// One TLV: type, 2-byte big-endian length, value.
fn tlv(ty: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![ty];
    v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    v.extend_from_slice(value);
    v
}

/// A PROXY v2 header's description as the server would give it, from a
/// balancer at 10.0.0.2 for a client at 192.0.2.7 over TLS with a client
/// certificate: its TLVs (ALPN, authority, unique ID, PP2_TYPE_SSL with
/// its five sub-types, a balancer's own 0xE0 and an empty 0xE1) and the
/// members the server fills from them (pointing into the TLVs' bytes, as
/// counted strings; the TLVs themselves are followed by a NUL).
fn fake_proxy() -> &'static hw_proxy_info {
    let mut ssl = vec![0x07, 0, 0, 0, 0]; // client bits, verify 0
    for (ty, v) in [
        (0x21u8, &b"TLSv1.3"[..]),
        (0x22, b"client.example"),
        (0x23, b"TLS_AES_128_GCM_SHA256"),
        (0x24, b"SHA256"),
        (0x25, b"RSA2048"),
    ] {
        ssl.extend(tlv(ty, v));
    }
    let mut tlvs = Vec::new();
    tlvs.extend(tlv(0x01, b"h2"));
    tlvs.extend(tlv(0x02, b"a.example"));
    tlvs.extend(tlv(0x05, &[0x00, 0x01, 0xfe, 0xff]));
    tlvs.extend(tlv(0x20, &ssl));
    tlvs.extend(tlv(0xE0, b"tenant-7"));
    tlvs.extend(tlv(0xE1, b""));
    let n = tlvs.len();
    tlvs.push(0);
    let tlvs: &'static [u8] = leak(tlvs);
    // The value of the first TLV of `ty`, as an hw_str into `tlvs`.
    let value = |ty: u8| {
        let v = find_tlv(&tlvs[..n], ty).expect("the fake has it");
        s(v)
    };
    Box::leak(Box::new(hw_proxy_info {
        size: std::mem::size_of::<hw_proxy_info>(),
        version: 2,
        local: 0,
        client: cs(b"192.0.2.7:51000\0"),
        server: cs(b"203.0.113.1:443\0"),
        socket_peer: cs(b"10.0.0.2:40000\0"),
        tlvs: hw_str {
            data: tlvs.as_ptr() as *const c_char,
            len: n,
        },
        alpn: value(0x01),
        authority: value(0x02),
        unique_id: value(0x05),
        ssl_client: 0x07,
        ssl_verify: 0,
        ssl_version: value(0x21),
        ssl_cipher: value(0x23),
        ssl_sig_alg: value(0x24),
        ssl_key_alg: value(0x25),
        ssl_cn: value(0x22),
    }))
}

/// An empty hw_str (NULL data), as the server leaves what a header did not
/// carry.
const NONE: hw_str = hw_str {
    data: ptr::null(),
    len: 0,
};

/// `(name, count)` of each named count, for comparisons.
fn counts(list: &[haywire::MetricsCount<'_>]) -> Vec<(String, u64)> {
    list.iter()
        .map(|c| (c.name().to_string(), c.count()))
        .collect()
}

/// Checks `<head><place>: <tail>` where the place is the panic's in this
/// file (`tests/module.rs:LINE:COLUMN`): the SDK's hook recorded it.
fn assert_placed(msg: &str, head: &str, tail: &str) {
    let place = msg
        .strip_prefix(head)
        .and_then(|m| m.strip_suffix(tail))
        .unwrap_or_else(|| panic!("{:?} is not {:?}<place>{:?}", msg, head, tail));
    let mut parts = place.rsplitn(3, ':');
    let (column, line, file) = (parts.next(), parts.next(), parts.next());
    assert!(
        file.map_or(false, |f| f.ends_with("module.rs")),
        "place {:?}",
        place
    );
    assert!(
        line.and_then(|l| l.parse::<u32>().ok()).is_some(),
        "place {:?}",
        place
    );
    assert!(
        column.and_then(|c| c.parse::<u32>().ok()).is_some(),
        "place {:?}",
        place
    );
}

// ---------------------------------------------------------------------------
// The tests

#[test]
fn descriptor_fields() {
    let e = entry();
    assert_eq!((e.abi_major, e.abi_minor), (1, 7));
    assert_eq!(e.size, std::mem::size_of::<sys::hw_module>());
    // SAFETY: static NUL-terminated strings.
    assert_eq!(unsafe { CStr::from_ptr(e.name) }.to_str(), Ok("test"));
    assert_eq!(
        unsafe { CStr::from_ptr(e.version) }.to_str(),
        Ok(env!("CARGO_PKG_VERSION"))
    );
    assert!(e.init.is_some() && e.handle.is_some() && e.fini.is_some());
    assert!(
        e.abort.is_none(),
        "answers are synchronous: nothing to abort"
    );
}

#[test]
fn handles_a_request_through_the_views() {
    let st = init(vec![("greeting", Val::Str("hi"))]).expect("init");
    let (rc, res) = handle(st, &get("/x"));
    assert_eq!(rc, sys::HW_HANDLED);
    assert_eq!(res.status, 201);
    assert_eq!(res.headers, vec![(b"X-Method".to_vec(), b"GET".to_vec())]);
    assert_eq!(
        String::from_utf8(res.body).unwrap(),
        "hi path=/t/x query=a=1 x-test=yes host=a.example:8080 body=payload version=(1, 0) \
         headers=Host=h,X-Test=yes!"
    );
    assert_eq!(take_log(), vec![(sys::HW_LOG_INFO, "handling".to_string())]);
    let before = DROPS.load(Ordering::SeqCst);
    fini(st);
    assert!(
        DROPS.load(Ordering::SeqCst) > before,
        "fini drops the module"
    );
}

#[test]
fn init_errors_are_one_line_in_err() {
    assert_eq!(
        init(vec![("fail", Val::Bool(true))]),
        Err("told to fail across two lines".into())
    );
    assert_eq!(
        init(vec![("greeting", Val::Int(42))]),
        Err("routes[0].config.greeting: expected a string, not another type".into())
    );
    assert_eq!(
        init(vec![("gretting", Val::Str("x"))]),
        Err("routes[0].config: unknown key \"gretting\"".into())
    );
    assert_eq!(
        init(vec![("port", Val::Int(0))]),
        Err("routes[0].config.port: out of range".into())
    );
    assert!(init(vec![("port", Val::Int(80))]).is_ok());
}

#[test]
fn a_panic_in_init_fails_init_with_its_message() {
    let err = init(vec![("panic", Val::Bool(true))]).unwrap_err();
    assert_placed(&err, "test: init panicked at ", ": init told to panic");
}

#[test]
fn err_is_cut_to_fit_at_a_character_boundary() {
    let host: &'static hw_host = Box::leak(Box::new(fake_host()));
    // "test: init panicked at ..." cut to 9 bytes (8 and the NUL).
    let err = init_with(host, vec![("panic", Val::Bool(true))], 9).unwrap_err();
    assert_eq!(err, "test: in");
    // `routes[0].config: unknown key "é"`: the 2-byte 'é' is bytes 31 and
    // 32, so 32 bytes and the NUL cannot hold it whole and it goes.
    let err = init_with(host, vec![("é", Val::Int(1))], 33).unwrap_err();
    assert_eq!(err, "routes[0].config: unknown key \"");
    let err = init_with(host, vec![("é", Val::Int(1))], 34).unwrap_err();
    assert_eq!(err, "routes[0].config: unknown key \"é");
}

#[test]
fn err_and_panic_in_handle_are_500_and_logged_once_a_second() {
    let st = init(vec![]).expect("init");
    take_log();
    let (rc, _) = handle(st, &get("/panic"));
    assert_eq!(
        rc,
        sys::HW_ERROR,
        "a panic is HW_ERROR, never an unwind into C"
    );
    let log = take_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, sys::HW_LOG_ERROR);
    assert_placed(
        &log[0].1,
        "test: handle panicked at ",
        ": handle told to panic at /t/panic",
    );
    // Within the second: counted, not logged.
    assert_eq!(handle(st, &get("/err")).0, sys::HW_ERROR);
    assert_eq!(handle(st, &get("/own-field")).0, sys::HW_ERROR);
    assert_eq!(take_log(), vec![]);
    // The module still answers.
    assert_eq!(handle(st, &get("/ok")).0, sys::HW_HANDLED);
    take_log();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(handle(st, &get("/err")).0, sys::HW_ERROR);
    assert_eq!(
        take_log(),
        vec![(
            sys::HW_LOG_ERROR,
            "test: handle failed: bad thing (and 2 more since the last report)".into()
        )]
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(handle(st, &get("/own-field")).0, sys::HW_ERROR);
    assert_eq!(
        take_log(),
        vec![(
            sys::HW_LOG_ERROR,
            "test: handle failed: add_header: HW_EINVAL (-22)".into()
        )]
    );
    fini(st);
}

#[test]
fn declining_returns_hw_declined() {
    let st = init(vec![]).expect("init");
    assert_eq!(handle(st, &get("/decline")).0, sys::HW_DECLINED);
    fini(st);
}

#[test]
fn a_panic_in_drop_is_logged_not_unwound() {
    let st = init(vec![("panic_in_drop", Val::Bool(true))]).expect("init");
    take_log();
    fini(st);
    let log = take_log();
    assert_eq!(log.len(), 1);
    assert_placed(
        &log[0].1,
        "test: fini (drop) panicked at ",
        ": drop told to panic",
    );
}

#[test]
fn an_older_host_without_the_config_accessors() {
    // A 1.1 table: it ends after header_free, so config, log_str and host
    // do not exist (their slots hold garbage the SDK must never call).
    let mut t = fake_host();
    let (at, size) = haywire::member_extent!(hw_host, header_free);
    t.size = at + size;
    let poison: unsafe extern "C" fn(*const c_char) -> *const hw_conf = {
        unsafe extern "C" fn never(_: *const c_char) -> *const hw_conf {
            panic!("called past the end of a 1.1 host table")
        }
        never
    };
    t.config = Some(poison);
    let host: &'static hw_host = Box::leak(Box::new(t));
    let err = init_with(host, vec![], 256).unwrap_err();
    assert_eq!(
        err,
        "conf_keys: this server has no route config accessors (they came with module ABI 1.2)"
    );
    // The request views still work, authority() falls back to Host.
    // SAFETY: the fake table and request.
    let req = get("/x");
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert_eq!(r.authority(), b"h");
    assert_eq!(r.header("host"), Some(&b"h"[..]));
    assert_eq!(r.peer(), None, "no peer function in the fake");
    // Logging without log_str (and without log in this fake) is a no-op.
    // SAFETY: the fake table.
    unsafe { Host::from_raw(host) }.error("dropped");
    assert_eq!(take_log(), vec![]);
}

#[test]
fn host_errors_name_the_call_and_code() {
    let e = Error::Host {
        call: "write",
        code: sys::HW_ESTATE,
    };
    assert_eq!(e.to_string(), "write: HW_ESTATE (-71)");
    assert_eq!(e.code(), Some(-71));
    assert_eq!(Error::from("x").code(), None);
    assert_eq!(
        Error::Missing { call: "log_str" }.to_string(),
        "log_str: not in this server's module ABI (a newer Haywire has it)"
    );
}

#[test]
fn metrics_are_a_borrowed_view_of_the_snapshot() {
    let host: &'static hw_host = Box::leak(Box::new(fake_host()));
    let req = FakeReq {
        metrics: Some(fake_metrics()),
        ..get("/metrics")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    let m: Metrics<'_> = r.metrics().expect("a 1.5 host with a snapshot");
    assert_eq!((m.version(), m.abi()), ("0.9.0", "1.5"));
    assert_eq!(m.start_time(), 1_700_000_000.5);
    assert_eq!(m.last_reload_time(), 1_700_000_100.25);
    assert_eq!(
        (m.generation(), m.generations_draining(), m.workers()),
        (3, 1, 1)
    );
    assert_eq!(
        (
            m.connections_accepted(),
            m.connections_reading(),
            m.connections_writing(),
            m.connections_waiting(),
            m.accepts_paused()
        ),
        (42, 1, 2, 3, 5)
    );
    assert_eq!(
        counts(m.reloads()),
        vec![("ok".into(), 2), ("failed".into(), 1)]
    );
    assert_eq!(
        counts(m.restarts()),
        vec![("signal".into(), 1), ("exit".into(), 0)]
    );
    assert_eq!(counts(m.timeouts()), vec![("keepalive".into(), 4)]);
    assert_eq!(
        counts(m.tls_handshakes()),
        vec![
            ("full".into(), 6),
            ("resumed".into(), 4),
            ("failed".into(), 2)
        ]
    );
    assert_eq!(m.bounds(), &[0.005, 0.1][..]);

    let routes = m.routes();
    assert_eq!(routes.len(), 2);
    let prefixes: Vec<&[u8]> = routes.clone().map(|r| r.prefix()).collect();
    assert_eq!(prefixes, vec![&b""[..], &b"/t"[..]]);
    let t = routes.clone().next_back().expect("the last route");
    assert_eq!(t.prefix(), b"/t");
    assert_eq!((t.requests(), t.other_codes()), (8, 1));
    let codes: Vec<(u32, u64)> = t.codes().iter().map(|c| (c.code(), c.count())).collect();
    assert_eq!(codes, vec![(200, 5), (404, 2)]);
    assert_eq!(
        t.requests(),
        t.codes().iter().map(|c| c.count()).sum::<u64>() + t.other_codes()
    );
    assert_eq!(
        t.buckets(),
        &[3, 6, 8][..],
        "one bucket a bound, then all of them"
    );
    assert_eq!(t.buckets().len(), m.bounds().len() + 1);
    assert_eq!(
        (
            t.duration_ns(),
            t.request_body_bytes(),
            t.response_body_bytes()
        ),
        (123_456, 10, 2000)
    );

    let procs: Vec<(&str, u32, i64, u64, u64, u64)> = m
        .processes()
        .iter()
        .map(|p| {
            (
                p.role(),
                p.slot(),
                p.pid(),
                p.resident_bytes(),
                p.open_fds(),
                p.generation(),
            )
        })
        .collect();
    assert_eq!(
        procs,
        vec![
            ("master", 0, 100, 8192, 7, 0),
            ("worker", 1, 101, 4096, 12, 3)
        ]
    );
    let debug = format!("{:?}", m);
    assert!(debug.contains("version: \"0.9.0\""), "{}", debug);
    assert!(
        debug.contains("tls_handshakes: [full=6, resumed=4, failed=2]"),
        "{}",
        debug
    );
    assert_eq!(m.as_raw(), req.metrics.unwrap() as *const hw_metrics);
}

#[test]
fn metrics_in_handle_through_the_trampoline() {
    let st = init(vec![]).expect("init");
    let req = FakeReq {
        metrics: Some(fake_metrics()),
        ..get("/metrics")
    };
    let (rc, res) = handle(st, &req);
    assert_eq!(rc, sys::HW_HANDLED);
    assert_eq!(String::from_utf8(res.body).unwrap(), "generation=3 =1 /t=8");
    // The server returns NULL (built without metrics, out of memory).
    let (rc, res) = handle(st, &get("/metrics"));
    assert_eq!((rc, res.body), (sys::HW_HANDLED, b"no metrics".to_vec()));
    fini(st);
}

#[test]
fn no_metrics_from_an_older_host_or_a_short_snapshot() {
    // A 1.3 table: it ends after body_pause, so metrics does not exist (its
    // slot holds a function the SDK must never call).
    let mut t = fake_host();
    let (at, size) = haywire::member_extent!(hw_host, body_pause);
    t.size = at + size;
    t.metrics = Some({
        unsafe extern "C" fn never(_: *mut hw_request) -> *const hw_metrics {
            panic!("called past the end of a 1.3 host table")
        }
        never
    });
    let host: &'static hw_host = Box::leak(Box::new(t));
    let req = FakeReq {
        metrics: Some(fake_metrics()),
        ..get("/metrics")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.metrics().is_none(), "a 1.3 server has no metrics");
    assert!(r.tls().is_none(), "nor tls");

    // A snapshot whose size says it is shorter than 1.4's is not read.
    let mut short = *fake_metrics();
    short.size = haywire::member_extent!(hw_metrics, routes).0;
    let req = FakeReq {
        metrics: Some(Box::leak(Box::new(short))),
        ..get("/metrics")
    };
    let host: &'static hw_host = Box::leak(Box::new(fake_host()));
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.metrics().is_none(), "a short snapshot is refused");

    // Empty and NULL arrays are empty slices.
    let mut empty = *fake_metrics();
    empty.routes = ptr::null();
    empty.nroutes = 3;
    empty.nbounds = 0;
    empty.bounds = ptr::null();
    empty.processes = ptr::null();
    empty.nprocesses = 0;
    empty.version = ptr::null();
    // SAFETY: a snapshot of the fake, leaked.
    let m = unsafe { Metrics::from_raw(Box::leak(Box::new(empty))) }.expect("a 1.4 snapshot");
    assert_eq!(m.routes().len(), 0);
    assert!(m.bounds().is_empty() && m.processes().is_empty());
    assert_eq!(m.version(), "");
    // SAFETY: NULL is allowed.
    assert!(unsafe { Metrics::from_raw(ptr::null()) }.is_none());
}

#[test]
fn a_1_4_snapshot_has_no_tls_handshakes() {
    // A 1.4 server's snapshot ends after nprocesses: its size says so, and
    // what lies past it (here poison) is never read.
    let (at, size) = haywire::member_extent!(hw_metrics, nprocesses);
    let mut old = *fake_metrics();
    old.size = at + size;
    old.tls_handshakes = 8 as *const hw_metrics_count; // never dereferenced
    old.ntls_handshakes = usize::MAX;
    // SAFETY: a snapshot of the fake, leaked.
    let m = unsafe { Metrics::from_raw(Box::leak(Box::new(old))) }.expect("a 1.4 snapshot");
    assert!(m.tls_handshakes().is_empty());
    assert_eq!(m.generation(), 3, "its 1.4 members are read");
    assert_eq!(
        counts(m.reloads()),
        vec![("ok".into(), 2), ("failed".into(), 1)]
    );
    assert_eq!(m.processes().len(), 2);
    assert!(format!("{:?}", m).contains("tls_handshakes: []"));

    // The same in an allocation of exactly the 1.4 size, as a 1.4 server
    // makes it: nothing past it is touched (no member read, no reference
    // to a whole hw_metrics formed).
    let full = *fake_metrics();
    let mut words = vec![0u64; (at + size + 7) / 8];
    // SAFETY: copies the first at + size bytes of `full` into `words`,
    // which has room for them (and is aligned for hw_metrics).
    unsafe {
        ptr::copy_nonoverlapping(
            &full as *const hw_metrics as *const u8,
            words.as_mut_ptr() as *mut u8,
            at + size,
        );
        ptr::addr_of_mut!((*(words.as_mut_ptr() as *mut hw_metrics)).size).write(at + size);
    }
    let raw = words.as_ptr() as *const hw_metrics;
    // SAFETY: `words` outlives `m`; from_raw reads only what size covers.
    let m = unsafe { Metrics::from_raw(raw) }.expect("a 1.4 snapshot");
    assert!(m.tls_handshakes().is_empty());
    assert_eq!((m.generation(), m.workers(), m.routes().len()), (3, 1, 2));
    assert_eq!(m.processes()[1].role(), "worker");
    assert_eq!(m.as_raw(), raw);

    // A 1.5 snapshot whose server counted no handshake yet: empty too.
    let mut none = *fake_metrics();
    none.tls_handshakes = ptr::null();
    none.ntls_handshakes = 0;
    // SAFETY: a snapshot of the fake, leaked.
    let m = unsafe { Metrics::from_raw(Box::leak(Box::new(none))) }.expect("a 1.5 snapshot");
    assert!(m.tls_handshakes().is_empty());
}

#[test]
fn tls_is_a_borrowed_view_of_the_session() {
    let host: &'static hw_host = Box::leak(Box::new(fake_host()));
    let req = FakeReq {
        tls: Some(fake_tls()),
        ..get("/tls")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    let t: TlsInfo<'_> = r.tls().expect("a 1.5 host over TLS");
    assert_eq!(t.version(), b"TLSv1.3", "the count, not the NUL");
    assert_eq!(t.cipher(), b"TLS_AES_128_GCM_SHA256");
    assert_eq!(t.server_name(), b"a.example");
    assert_eq!(t.alpn(), b"http/1.1");
    assert!(t.resumed());
    assert_eq!(t.as_raw(), req.tls.unwrap() as *const hw_tls_info);
    assert_eq!(
        format!("{:?}", t),
        "TlsInfo { version: \"TLSv1.3\", cipher: \"TLS_AES_128_GCM_SHA256\", \
         server_name: \"a.example\", alpn: \"http/1.1\", resumed: true }"
    );

    // A full handshake from a client that sent no SNI and offered no ALPN:
    // empty strings (NULL data is allowed with len 0), not resumed.
    let plain = hw_tls_info {
        server_name: hw_str {
            data: ptr::null(),
            len: 0,
        },
        alpn: cs(b"\0"),
        resumed: 0,
        version: cs(b"TLSv1.2\0"),
        ..*fake_tls()
    };
    let req = FakeReq {
        tls: Some(Box::leak(Box::new(plain))),
        ..get("/tls")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    let t = r.tls().expect("a session");
    assert_eq!(
        (t.version(), t.server_name(), t.alpn(), t.resumed()),
        (&b"TLSv1.2"[..], &b""[..], &b""[..], false)
    );

    // Plain TCP, or a client gone: the host returns NULL.
    let req = get("/tls");
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.tls().is_none());
}

#[test]
fn tls_in_handle_through_the_trampoline() {
    let st = init(vec![]).expect("init");
    let req = FakeReq {
        tls: Some(fake_tls()),
        ..get("/tls")
    };
    let (rc, res) = handle(st, &req);
    assert_eq!(rc, sys::HW_HANDLED);
    assert_eq!(
        String::from_utf8(res.body).unwrap(),
        "version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256 sni=a.example alpn=http/1.1 resumed=true"
    );
    // The server returns NULL (plain TCP, the client gone, out of memory).
    let (rc, res) = handle(st, &get("/tls"));
    assert_eq!((rc, res.body), (sys::HW_HANDLED, b"plain".to_vec()));
    fini(st);
}

#[test]
fn no_tls_from_an_older_host_or_a_short_info() {
    // A 1.4 table: it ends after metrics, so tls does not exist (its slot
    // holds a function the SDK must never call).
    let mut t = fake_host();
    let (at, size) = haywire::member_extent!(hw_host, metrics);
    t.size = at + size;
    t.tls = Some({
        unsafe extern "C" fn never(_: *mut hw_request) -> *const hw_tls_info {
            panic!("called past the end of a 1.4 host table")
        }
        never
    });
    let host: &'static hw_host = Box::leak(Box::new(t));
    let req = FakeReq {
        tls: Some(fake_tls()),
        metrics: Some(fake_metrics()),
        ..get("/tls")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.tls().is_none(), "a 1.4 server has no tls");
    assert!(r.metrics().is_some(), "but has metrics");
    // The module's handle on that server: as over plain TCP.
    let st = init_with(host, vec![], 256).expect("init");
    let (rc, res) = handle(st, &req);
    assert_eq!((rc, res.body), (sys::HW_HANDLED, b"plain".to_vec()));
    fini(st);

    // A session whose size says it is shorter than 1.5's is not read.
    let mut short = *fake_tls();
    short.size = haywire::member_extent!(hw_tls_info, alpn).0;
    let req = FakeReq {
        tls: Some(Box::leak(Box::new(short))),
        ..get("/tls")
    };
    let host: &'static hw_host = Box::leak(Box::new(fake_host()));
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.tls().is_none(), "a short session is refused");
    // SAFETY: NULL is allowed.
    assert!(unsafe { TlsInfo::from_raw(ptr::null()) }.is_none());
}

#[test]
fn proxy_is_a_borrowed_view_of_the_header() {
    let host: &'static hw_host = Box::leak(Box::new(fake_host()));
    let req = FakeReq {
        proxy: Some(fake_proxy()),
        ..get("/proxy")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    let p: ProxyInfo<'_> = r.proxy().expect("a 1.7 host with a PROXY v2 header");
    assert_eq!(p.version(), 2);
    assert!(!p.local());
    assert_eq!(p.client(), b"192.0.2.7:51000", "the count, not the NUL");
    assert_eq!(p.server(), b"203.0.113.1:443");
    assert_eq!(p.socket_peer(), b"10.0.0.2:40000");
    assert_eq!(p.alpn(), b"h2");
    assert_eq!(p.authority(), b"a.example");
    assert_eq!(p.unique_id(), &[0x00, 0x01, 0xfe, 0xff][..]);
    assert_eq!((p.ssl_client(), p.ssl_verify()), (0x07, 0));
    assert_eq!(p.ssl_version(), b"TLSv1.3");
    assert_eq!(p.ssl_cipher(), b"TLS_AES_128_GCM_SHA256");
    assert_eq!(p.ssl_sig_alg(), b"SHA256");
    assert_eq!(p.ssl_key_alg(), b"RSA2048");
    assert_eq!(p.ssl_cn(), b"client.example");
    let raw = req.proxy.unwrap();
    assert_eq!(p.tlvs().len(), raw.tlvs.len);
    assert_eq!(&p.tlvs()[..5], &[0x01, 0x00, 0x02, b'h', b'2'][..]);
    assert_eq!(p.as_raw(), raw as *const hw_proxy_info);
    let debug = format!("{:?}", p);
    assert!(
        debug.starts_with(
            "ProxyInfo { version: 2, local: false, client: \"192.0.2.7:51000\", \
             server: \"203.0.113.1:443\", socket_peer: \"10.0.0.2:40000\""
        ),
        "{}",
        debug
    );
    assert!(debug.contains("ssl_cn: \"client.example\""), "{}", debug);

    // A version 1 header: addresses only, no TLVs (empty strings, NULL
    // data allowed with len 0); proxy_tlv says there is no v2 header.
    let v1 = hw_proxy_info {
        version: 1,
        tlvs: NONE,
        alpn: NONE,
        authority: NONE,
        unique_id: NONE,
        ssl_client: 0,
        ssl_verify: 0,
        ssl_version: NONE,
        ssl_cipher: NONE,
        ssl_sig_alg: NONE,
        ssl_key_alg: NONE,
        ssl_cn: cs(b"\0"),
        ..*fake_proxy()
    };
    let req = FakeReq {
        proxy: Some(Box::leak(Box::new(v1))),
        ..get("/proxy")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    let p = r.proxy().expect("a v1 header");
    assert_eq!((p.version(), p.local()), (1, false));
    assert_eq!(p.client(), b"192.0.2.7:51000");
    assert_eq!(
        (p.tlvs(), p.alpn(), p.unique_id(), p.ssl_cn()),
        (&b""[..], &b""[..], &b""[..], &b""[..])
    );
    assert_eq!((p.ssl_client(), p.ssl_verify()), (0, 0));
    assert_eq!(
        r.proxy_tlv(0x01),
        Err(Error::Host {
            call: "proxy_tlv",
            code: sys::HW_ESTATE
        })
    );

    // A v2 LOCAL header (the balancer's health check): no client.
    let local = hw_proxy_info {
        local: 1,
        client: NONE,
        server: NONE,
        ..*fake_proxy()
    };
    // SAFETY: a description of the fake, leaked.
    let p = unsafe { ProxyInfo::from_raw(Box::leak(Box::new(local))) }.expect("LOCAL");
    assert!(p.local());
    assert_eq!((p.client(), p.server()), (&b""[..], &b""[..]));
    assert_eq!(p.socket_peer(), b"10.0.0.2:40000");

    // No header (the listener takes none), or the client gone: NULL.
    let req = get("/proxy");
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.proxy().is_none());
    assert_eq!(r.proxy_tlv(0xE0).unwrap_err().code(), Some(sys::HW_ESTATE));
}

#[test]
fn proxy_tlv_finds_a_tlv_by_type() {
    let host: &'static hw_host = Box::leak(Box::new(fake_host()));
    let req = FakeReq {
        proxy: Some(fake_proxy()),
        ..get("/proxy")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert_eq!(r.proxy_tlv(0x01), Ok(&b"h2"[..]));
    assert_eq!(r.proxy_tlv(0xE0), Ok(&b"tenant-7"[..]), "a balancer's own");
    assert_eq!(r.proxy_tlv(0xE1), Ok(&b""[..]), "present but empty");
    assert_eq!(
        r.proxy_tlv(0x22),
        Ok(&b"client.example"[..]),
        "a sub-type inside PP2_TYPE_SSL"
    );
    assert_eq!(r.proxy_tlv(0x20).map(|v| v[0]), Ok(0x07), "PP2_TYPE_SSL");
    // The value borrows the header's bytes (no copy).
    let tlvs = r.proxy().unwrap().tlvs().as_ptr_range();
    assert!(tlvs.contains(&r.proxy_tlv(0xE0).unwrap().as_ptr()));
    let e = r.proxy_tlv(0xE5).unwrap_err();
    assert_eq!(
        e,
        Error::Host {
            call: "proxy_tlv",
            code: sys::HW_ENOENT
        }
    );
    assert_eq!(e.code(), Some(sys::HW_ENOENT));
    assert_eq!(e.to_string(), "proxy_tlv: HW_ENOENT (-2)");
}

#[test]
fn proxy_in_handle_through_the_trampoline() {
    let st = init(vec![]).expect("init");
    let req = FakeReq {
        proxy: Some(fake_proxy()),
        ..get("/proxy")
    };
    let (rc, res) = handle(st, &req);
    assert_eq!(rc, sys::HW_HANDLED);
    assert_eq!(
        String::from_utf8(res.body).unwrap(),
        "v2 local=false client=192.0.2.7:51000 via=10.0.0.2:40000 cn=client.example \
         ssl=0x7/0 tenant=tenant-7"
    );
    // No header: NULL, and proxy_tlv's HW_ESTATE.
    let (rc, res) = handle(st, &get("/proxy"));
    assert_eq!(rc, sys::HW_HANDLED);
    assert_eq!(
        String::from_utf8(res.body).unwrap(),
        "direct tenant: proxy_tlv: HW_ESTATE (-71)"
    );
    fini(st);
}

#[test]
fn no_proxy_from_an_older_host_or_a_short_info() {
    // A 1.6 table: it ends after tls (1.6 appended no member), so proxy and
    // proxy_tlv do not exist (their slots hold functions the SDK must
    // never call).
    let mut t = fake_host();
    let (at, size) = haywire::member_extent!(hw_host, tls);
    t.size = at + size;
    t.abi_minor = 6;
    t.proxy = Some({
        unsafe extern "C" fn never(_: *mut hw_request) -> *const hw_proxy_info {
            panic!("proxy called past the end of a 1.6 host table")
        }
        never
    });
    t.proxy_tlv = Some({
        unsafe extern "C" fn never(
            _: *mut hw_request,
            _: std::os::raw::c_uint,
            _: *mut hw_str,
        ) -> c_int {
            panic!("proxy_tlv called past the end of a 1.6 host table")
        }
        never
    });
    let host: &'static hw_host = Box::leak(Box::new(t));
    let req = FakeReq {
        proxy: Some(fake_proxy()),
        tls: Some(fake_tls()),
        ..get("/proxy")
    };
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.proxy().is_none(), "a 1.6 server has no proxy");
    assert_eq!(r.proxy_tlv(0xE0), Err(Error::Missing { call: "proxy_tlv" }));
    assert!(r.tls().is_some(), "but has tls");
    // The module's handle on that server: as with no header.
    let st = init_with(host, vec![], 256).expect("init");
    let (rc, res) = handle(st, &req);
    assert_eq!(rc, sys::HW_HANDLED);
    let body = String::from_utf8(res.body).unwrap();
    assert!(
        body.starts_with("direct tenant: proxy_tlv: not in this server's module ABI"),
        "{}",
        body
    );
    fini(st);

    // A table that ends after proxy has it, but not proxy_tlv.
    let mut t = fake_host();
    let (at, size) = haywire::member_extent!(hw_host, proxy);
    t.size = at + size;
    let host: &'static hw_host = Box::leak(Box::new(t));
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.proxy().is_some());
    assert_eq!(
        r.proxy_tlv(0xE0).unwrap_err(),
        Error::Missing { call: "proxy_tlv" }
    );

    // A description whose size says it is shorter than 1.7's is not read.
    let mut short = *fake_proxy();
    short.size = haywire::member_extent!(hw_proxy_info, ssl_cn).0;
    let req = FakeReq {
        proxy: Some(Box::leak(Box::new(short))),
        ..get("/proxy")
    };
    let host: &'static hw_host = Box::leak(Box::new(fake_host()));
    // SAFETY: the fake table and request.
    let r = unsafe { Request::from_raw(host, &req as *const FakeReq as *mut hw_request) };
    assert!(r.proxy().is_none(), "a short description is refused");
    // SAFETY: NULL is allowed.
    assert!(unsafe { ProxyInfo::from_raw(ptr::null()) }.is_none());
}

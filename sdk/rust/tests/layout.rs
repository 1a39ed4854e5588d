//! layout.rs - checks the hand-written raw ABI (src/sys.rs) against the real
//! C header: it compiles a small C program with the system's C compiler
//! (`$CC`, else `cc`) that prints the size and alignment of every struct and
//! type of `haywire.h`, the offset and size of every member and the value of
//! every constant, and compares each number with what Rust computes for
//! `haywire::sys`.  It also reads the member names out of the header, so a
//! member added to the C struct but not here fails the test by name.
//!
//! The header is found in `$HAYWIRE_INCLUDE_DIR`, else in the source tree
//! (`../../include` from this crate), else in an installed SDK's default
//! layout (`../../../include`), else where `pkg-config haywire` says.
//! Without a C compiler the test prints that it was skipped and passes:
//! there is nothing to compare with.

use std::env;
use std::fs;
use std::io::ErrorKind;
use std::mem::{align_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use haywire::sys;

/// One number both sides compute: a name for messages, the C expression
/// that gives it, and the Rust value.
struct Probe {
    key: String,
    c_expr: String,
    rust: i128,
}

/// The C spelling of a Rust member name (`r#loop` is C's `loop`).
fn c_name(rust: &str) -> &str {
    rust.strip_prefix("r#").unwrap_or(rust)
}

/// Probes for structs: size and alignment of each, then offset and size of
/// each member listed; also returns the member lists for the name check.
macro_rules! struct_probes {
    ($probes:ident, $members:ident; $($ty:ident { $($field:ident),* $(,)? })*) => {
        $(
            let ty = stringify!($ty);
            $probes.push(Probe { key: format!("sizeof {}", ty), c_expr: format!("sizeof({})", ty),
                                 rust: size_of::<sys::$ty>() as i128 });
            $probes.push(Probe { key: format!("alignof {}", ty), c_expr: format!("_Alignof({})", ty),
                                 rust: align_of::<sys::$ty>() as i128 });
            let mut names = Vec::new();
            $(
                let (offset, size) = haywire::member_extent!(sys::$ty, $field);
                let m = c_name(stringify!($field));
                $probes.push(Probe { key: format!("offsetof {}.{}", ty, m),
                                     c_expr: format!("offsetof({}, {})", ty, m), rust: offset as i128 });
                $probes.push(Probe { key: format!("sizeof {}.{}", ty, m),
                                     c_expr: format!("sizeof((({} *)0)->{})", ty, m), rust: size as i128 });
                names.push(m.to_string());
            )*
            $members.push((ty.to_string(), names));
        )*
    };
}

/// Probes for types that are not structs: size and alignment.
macro_rules! type_probes {
    ($probes:ident; $($ty:ident),* $(,)?) => {
        $(
            $probes.push(Probe { key: format!("sizeof {}", stringify!($ty)),
                                 c_expr: format!("sizeof({})", stringify!($ty)),
                                 rust: size_of::<sys::$ty>() as i128 });
            $probes.push(Probe { key: format!("alignof {}", stringify!($ty)),
                                 c_expr: format!("_Alignof({})", stringify!($ty)),
                                 rust: align_of::<sys::$ty>() as i128 });
        )*
    };
}

/// Probes for constants: the C macro or enumerator against the Rust const.
macro_rules! const_probes {
    ($probes:ident; $($name:ident),* $(,)?) => {
        $(
            $probes.push(Probe { key: stringify!($name).to_string(), c_expr: stringify!($name).to_string(),
                                 rust: sys::$name as i128 });
        )*
    };
}

fn probes() -> (Vec<Probe>, Vec<(String, Vec<String>)>) {
    let mut probes = Vec::new();
    let mut members = Vec::new();
    struct_probes!(probes, members;
        hw_str { data, len }
        hw_tls_info { size, version, cipher, server_name, alpn, resumed }
        hw_proxy_info {
            size, version, local, client, server, socket_peer, tlvs, alpn, authority, unique_id,
            ssl_client, ssl_verify, ssl_version, ssl_cipher, ssl_sig_alg, ssl_key_alg, ssl_cn,
        }
        hw_metrics_code { code, count }
        hw_metrics_count { name, count }
        hw_metrics_route {
            prefix, requests, codes, ncodes, other_codes, buckets, duration_ns,
            request_body_bytes, response_body_bytes,
        }
        hw_metrics_process { role, slot, pid, resident_bytes, open_fds, generation }
        hw_metrics {
            size, version, abi, start_time, generation, last_reload_time, generations_draining,
            workers, reloads, nreloads, restarts, nrestarts,
            connections_accepted, connections_reading, connections_writing, connections_waiting,
            accepts_paused, timeouts, ntimeouts, bounds, nbounds, routes, nroutes,
            processes, nprocesses, tls_handshakes, ntls_handshakes,
        }
        hw_host {
            abi_major, abi_minor, size,
            method, target, path, query, prefix, rest, version, header, header_count, header_at,
            body, peer, alloc, aborted, on_abort,
            set_status, add_header, write, write_ref, finish,
            log, r#loop,
            header_prepare, add_prepared, header_free,
            host, log_str, config, conf_find, conf_type, conf_string, conf_int, conf_number,
            conf_bool, conf_count, conf_at, conf_keys, conf_error,
            timer_start, timer_stop, queue_work, stream, on_writable, write_file, body_stream,
            body_pause,
            metrics,
            tls,
            proxy, proxy_tlv,
        }
        hw_module { abi_major, abi_minor, size, name, version, init, handle, fini, abort }
    );
    type_probes!(probes;
        hw_handle_result, hw_log_level, hw_conf_type,
        hw_free_cb, hw_abort_cb, hw_timer_cb, hw_work_cb, hw_work_done_cb, hw_writable_cb, hw_body_cb,
    );
    const_probes!(probes;
        HW_ABI_MAJOR, HW_ABI_MINOR,
        HW_HANDLED, HW_DECLINED, HW_DEFERRED, HW_ERROR,
        HW_LOG_ERROR, HW_LOG_WARN, HW_LOG_INFO, HW_LOG_DEBUG,
        HW_EINVAL, HW_ENOMEM, HW_ENOENT, HW_ESTATE, HW_ECANCELED, HW_CONGESTED,
        HW_CONF_ABSENT, HW_CONF_NULL, HW_CONF_BOOL, HW_CONF_INT, HW_CONF_NUMBER, HW_CONF_STRING,
        HW_CONF_ARRAY, HW_CONF_OBJECT,
    );
    // The descriptor the module! macro exports must be exactly hw_module.
    probes.push(Probe {
        key: "sizeof ModuleEntry".into(),
        c_expr: "sizeof(hw_module)".into(),
        rust: size_of::<sys::ModuleEntry>() as i128,
    });
    (probes, members)
}

/// The directory holding haywire.h, or a message saying where it looked.
fn include_dir() -> Result<PathBuf, String> {
    let mut tried = Vec::new();
    if let Some(dir) = env::var_os("HAYWIRE_INCLUDE_DIR") {
        let dir = PathBuf::from(dir);
        if dir.join("haywire.h").is_file() {
            return Ok(dir);
        }
        return Err(format!(
            "HAYWIRE_INCLUDE_DIR={} holds no haywire.h",
            dir.display()
        ));
    }
    // The source tree (sdk/rust beside include/), then an installed SDK in
    // the default layout ($(datadir)/haywire/rust, $(prefix)/include).
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [here.join("../../include"), here.join("../../../include")] {
        if dir.join("haywire.h").is_file() {
            return Ok(dir);
        }
        tried.push(dir.display().to_string());
    }
    if let Ok(out) = Command::new("pkg-config")
        .args(["--variable=includedir", "haywire"])
        .output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("haywire.h").is_file() {
            return Ok(dir);
        }
        tried.push("pkg-config --variable=includedir haywire".into());
    }
    Err(format!(
        "no haywire.h in {}: set HAYWIRE_INCLUDE_DIR",
        tried.join(", ")
    ))
}

/// The members of `typedef struct <name> { ... } <name>;` in the header, in
/// order: a function pointer's name is what follows `(*`, anything else's
/// is the declaration's last word.  Enough for this header, which is plain.
fn header_members(header: &str, name: &str) -> Vec<String> {
    let open = format!("typedef struct {} {{", name);
    let start = header
        .find(&open)
        .unwrap_or_else(|| panic!("no `{}` in haywire.h", open))
        + open.len();
    let end = start
        + header[start..]
            .find(&format!("}} {};", name))
            .expect("end of the struct");
    // Drop comments and preprocessor lines; what is left is declarations.
    let mut body = String::new();
    let mut rest = &header[start..end];
    while let Some(i) = rest.find("/*") {
        body.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("*/").expect("end of comment") + 2..];
    }
    body.push_str(rest);
    let body: String = body
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !s.is_empty();
    body.split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match d.find("(*") {
            Some(i) => d[i + 2..].split(')').next().unwrap().trim().to_string(),
            None => d
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .rfind(|w| ident(w))
                .unwrap()
                .to_string(),
        })
        .collect()
}

#[test]
fn every_member_of_the_header_is_mirrored_in_order() {
    let dir = include_dir().unwrap_or_else(|e| panic!("{}", e));
    let header = fs::read_to_string(dir.join("haywire.h")).expect("read haywire.h");
    let (_, members) = probes();
    for (ty, rust) in members {
        let c = header_members(&header, &ty);
        assert_eq!(
            rust, c,
            "the members of {} in sys.rs (left) and haywire.h (right)",
            ty
        );
    }
    // HW_MODULE_SYMBOL is a string: compare it with the header's text.
    let line = format!("#define HW_MODULE_SYMBOL \"{}\"", sys::HW_MODULE_SYMBOL);
    assert!(header.contains(&line), "haywire.h has no `{}`", line);
}

#[test]
fn sizes_offsets_and_constants_match_the_c_compiler() {
    let dir = include_dir().unwrap_or_else(|e| panic!("{}", e));
    let (probes, _) = probes();
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"haywire.h\"\n\nint main(void) {\n",
    );
    for (i, p) in probes.iter().enumerate() {
        c.push_str(&format!(
            "  printf(\"%d %lld\\n\", {}, (long long)({}));\n",
            i, p.c_expr
        ));
    }
    c.push_str("  return 0;\n}\n");

    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("layout");
    fs::create_dir_all(&work).expect("create the work directory");
    let src = work.join("layout.c");
    let exe = work.join("layout");
    fs::write(&src, c).expect("write layout.c");
    // $CC may carry flags ("gcc -m32"), as make's CC does.
    let cc_line = env::var("CC").unwrap_or_default();
    let mut cc_words = cc_line.split_whitespace();
    let cc = cc_words.next().unwrap_or("cc").to_string();
    let out = match Command::new(&cc)
        .args(cc_words)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg("-I")
        .arg(&dir)
        .arg(&src)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            println!("layout: skipped, no C compiler ({}) to compare with", cc);
            return;
        }
        Err(e) => panic!("running {}: {}", cc, e),
    };
    assert!(
        out.status.success(),
        "{} failed on {}:\n{}",
        cc,
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run the layout program");
    assert!(run.status.success(), "the layout program failed");
    let text = String::from_utf8(run.stdout).expect("ASCII output");

    let mut seen = 0;
    let mut wrong = Vec::new();
    for line in text.lines() {
        let mut words = line.split(' ');
        let i: usize = words.next().unwrap().parse().unwrap();
        let c_value: i128 = words.next().unwrap().parse().unwrap();
        let p = &probes[i];
        if p.rust != c_value {
            wrong.push(format!("{}: C says {}, Rust {}", p.key, c_value, p.rust));
        }
        seen += 1;
    }
    assert_eq!(seen, probes.len(), "one line per probe");
    assert!(
        wrong.is_empty(),
        "sys.rs differs from haywire.h:\n  {}",
        wrong.join("\n  ")
    );
    println!(
        "layout: {} sizes, offsets and constants agree with {}",
        seen, cc
    );
}

#[test]
fn host_has_follows_the_size_member() {
    // A table that ends right after header_free (a 1.1 host) has the 1.1
    // members and none of 1.2's.
    let (free_at, free_size) = haywire::member_extent!(sys::hw_host, header_free);
    let mut table = std::mem::MaybeUninit::<sys::hw_host>::zeroed();
    // SAFETY: writing the size member of our own zeroed table.
    unsafe { std::ptr::addr_of_mut!((*table.as_mut_ptr()).size).write(free_at + free_size) };
    let host = table.as_ptr();
    // SAFETY: `host` is a valid (zeroed) table; only `size` is read.
    unsafe {
        assert!(haywire::hw_host_has!(host, method));
        assert!(haywire::hw_host_has!(host, header_free));
        assert!(!haywire::hw_host_has!(host, host));
        assert!(!haywire::hw_host_has!(host, body_pause));
        assert!(!haywire::hw_host_has!(host, metrics));
        assert!(!haywire::hw_host_has!(host, tls));
        assert!(!haywire::hw_host_has!(host, proxy));
    }
    // A 1.3 table (ending after body_pause) lacks 1.4's metrics.
    let (pause_at, pause_size) = haywire::member_extent!(sys::hw_host, body_pause);
    // SAFETY: as above.
    unsafe { std::ptr::addr_of_mut!((*table.as_mut_ptr()).size).write(pause_at + pause_size) };
    let host = table.as_ptr();
    // SAFETY: as above.
    unsafe {
        assert!(haywire::hw_host_has!(host, body_pause));
        assert!(!haywire::hw_host_has!(host, metrics));
        assert!(!haywire::hw_host_has!(host, tls));
        assert!(!haywire::hw_host_has!(host, proxy));
    }
    // A 1.4 table (ending after metrics) lacks 1.5's tls.
    let (metrics_at, metrics_size) = haywire::member_extent!(sys::hw_host, metrics);
    // SAFETY: as above.
    unsafe { std::ptr::addr_of_mut!((*table.as_mut_ptr()).size).write(metrics_at + metrics_size) };
    let host = table.as_ptr();
    // SAFETY: as above.
    unsafe {
        assert!(haywire::hw_host_has!(host, metrics));
        assert!(!haywire::hw_host_has!(host, tls));
        assert!(!haywire::hw_host_has!(host, proxy));
    }
    // A 1.5 (or 1.6: it appended no member) table, ending after tls, lacks
    // 1.7's proxy and proxy_tlv.
    let (tls_at, tls_size) = haywire::member_extent!(sys::hw_host, tls);
    // SAFETY: as above.
    unsafe { std::ptr::addr_of_mut!((*table.as_mut_ptr()).size).write(tls_at + tls_size) };
    let host = table.as_ptr();
    // SAFETY: as above.
    unsafe {
        assert!(haywire::hw_host_has!(host, tls));
        assert!(!haywire::hw_host_has!(host, proxy));
        assert!(!haywire::hw_host_has!(host, proxy_tlv));
    }
    // One that ends after proxy lacks proxy_tlv.
    let (proxy_at, proxy_size) = haywire::member_extent!(sys::hw_host, proxy);
    // SAFETY: as above.
    unsafe { std::ptr::addr_of_mut!((*table.as_mut_ptr()).size).write(proxy_at + proxy_size) };
    let host = table.as_ptr();
    // SAFETY: as above.
    unsafe {
        assert!(haywire::hw_host_has!(host, proxy));
        assert!(!haywire::hw_host_has!(host, proxy_tlv));
    }
    // A 1.7 table, this crate's whole struct, has both.
    // SAFETY: as above.
    unsafe {
        std::ptr::addr_of_mut!((*table.as_mut_ptr()).size)
            .write(std::mem::size_of::<sys::hw_host>())
    };
    let host = table.as_ptr();
    // SAFETY: as above.
    unsafe {
        assert!(haywire::hw_host_has!(host, tls));
        assert!(haywire::hw_host_has!(host, proxy));
        assert!(haywire::hw_host_has!(host, proxy_tlv));
    }
}

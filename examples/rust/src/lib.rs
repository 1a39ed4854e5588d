//! lib.rs - the example Rust module (examples/rust.so): a GET or HEAD gets
//! the route's greeting (config `"greeting"`, a string) and the request's
//! path and query back; any other method gets 405 with `Allow`.  Three
//! paths below the prefix show what the SDK does with failures, and are
//! what tests/integration/rust.py checks: `/panic` panics (the SDK catches
//! it: 500, and the server serves on), `/error` returns an `Err` (500 too)
//! and `/decline` declines (the route with the next shorter prefix
//! answers).  Config `"panic_in_init": true` panics in init, which fails
//! start-up with one line instead of crashing.

use haywire::{Config, Error, Host, Module, Outcome, Request, Response};

/// The state of one route.
struct Example {
    /// Copied from the config: its strings are gone once init returns.
    greeting: String,
}

impl Module for Example {
    fn init(_host: &Host, config: &Config<'_>) -> Result<Self, String> {
        // A misspelt key fails start-up, naming the route and the key.
        config.keys(&["greeting", "panic_in_init"])?;
        if config.bool("panic_in_init")?.unwrap_or(false) {
            panic!("panic_in_init is set");
        }
        let greeting = config.str("greeting")?.unwrap_or("Hello from Rust");
        Ok(Example {
            greeting: greeting.to_owned(),
        })
    }

    fn handle(&self, req: &Request<'_>, res: &mut Response<'_>) -> Result<Outcome, Error> {
        // HEAD is answered as GET: the server counts the body, sends none.
        if !matches!(req.method(), b"GET" | b"HEAD") {
            res.set_status(405)?;
            res.header("Allow", "GET, HEAD")?;
            res.header("Content-Type", "text/plain")?;
            res.write("method not allowed\n")?;
            return Ok(Outcome::Handled);
        }
        match req.rest() {
            b"/panic" => panic!(
                "deliberate panic for {}",
                String::from_utf8_lossy(req.path())
            ),
            b"/error" => return Err("deliberate error".into()),
            b"/decline" => return Ok(Outcome::Declined),
            _ => {}
        }
        res.header("Content-Type", "text/plain; charset=utf-8")?;
        writeln!(res, "{}", self.greeting)?;
        // The path and query are bytes as received, echoed as they are.
        res.write("path: ")?;
        res.write(req.path())?;
        res.write("\nquery: ")?;
        res.write(req.query())?;
        res.write("\n")?;
        Ok(Outcome::Handled)
    }
}

haywire::module!(Example, "rust_example");

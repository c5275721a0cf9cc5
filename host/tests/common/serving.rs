//! A server process under test (`wasmtime serve`, `wasm-rr serve`), started on a port the
//! system picks and stopped as Ctrl-C stops it.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A server process, killed when dropped.
pub struct Serving {
    pub child: Child,
    /// `127.0.0.1:PORT`, from the server's own "serving" line.
    pub addr: String,
    /// The server's later stderr lines, as it prints them.
    pub stderr: std::sync::mpsc::Receiver<String>,
}

impl Serving {
    /// Waits for a stderr line containing `text` (the server prints it, or the test fails
    /// when the server's stderr ends first).
    pub fn wait_for_stderr(&self, text: &str) -> String {
        loop {
            let line = self
                .stderr
                .recv()
                .unwrap_or_else(|_| panic!("the server's stderr ended without {text:?}"));
            if line.contains(text) {
                return line;
            }
        }
    }
}

impl Serving {
    /// Stops the server as Ctrl-C does, and waits until it has finished the requests it was
    /// handling (and so written their traces).
    /// Returns the stderr lines it printed that were not waited for.
    pub fn stop(mut self) -> Vec<String> {
        // SAFETY: a signal to our own child, which has not been waited for yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
        self.stderr.iter().collect()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` (which listens on port 0) and waits for the stderr line that names its address.
pub fn start_serving(mut cmd: Command, marker: &str) -> Serving {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{cmd:?} ended before serving"))
            .unwrap();
        if let Some(rest) = line.split(marker).nth(1) {
            break rest
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap()
                .to_string();
        }
    };
    // Keep draining stderr, so that the server never blocks on a full pipe.
    let (send, stderr) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    Serving {
        child,
        addr,
        stderr,
    }
}

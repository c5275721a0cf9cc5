//! The files of a trace, for `wasm-rr test`: the preopened directories as the app found them
//! (the files it read, at the offsets it read, before it wrote them; their sizes as it stat'ed
//! them; the directories and the entries it listed), made again in a temporary directory for
//! the app under test; and the files it wrote, as the trace keeps them, to compare with what
//! the new version writes.

use super::recorded::{MAX_BYTES, Output};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use wasm_rr_trace::fs::{self as f, DescriptorType, Descriptors, Fd, normalise_path};
use wasm_rr_trace::{Event, StreamError, StreamId, streams};

/// `open-flags`: create, directory, truncate.
const CREATE: u8 = 1;
const DIRECTORY: u8 = 2;
const TRUNCATE: u8 = 8;

/// A file's bytes as far as they are known: the bytes at known offsets (zeros between), and
/// its size when known.
#[derive(Default, Clone, Debug)]
pub struct Image {
    data: Vec<u8>,
    size: Option<u64>,
}

impl Image {
    /// The bytes this image stands for: what is known, or its size when that is more.
    fn footprint(&self) -> usize {
        let size = self
            .size
            .map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX));
        self.data.len().max(size)
    }

    /// How far the image may reach: its footprint and what is left of the budget shared by
    /// all images (`spent` of [`MAX_BYTES`]).
    fn limit(&self, spent: usize) -> usize {
        self.footprint()
            .saturating_add(MAX_BYTES.saturating_sub(spent))
            .min(MAX_BYTES)
    }

    /// Puts `bytes` at `offset`, as far as the budget allows; `spent` grows by what it takes.
    fn put(&mut self, offset: u64, bytes: &[u8], spent: &mut usize) {
        let Ok(at) = usize::try_from(offset) else {
            return;
        };
        let before = self.footprint();
        let end = at.saturating_add(bytes.len()).min(self.limit(*spent));
        if at >= end {
            return;
        }
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[at..end].copy_from_slice(&bytes[..end - at]);
        *spent += self.footprint().saturating_sub(before);
    }

    /// Sets the size (at most what the budget allows); `spent` grows by what it takes.
    fn set_size(&mut self, size: u64, spent: &mut usize) {
        let before = self.footprint();
        self.size = Some(size.min(self.limit(*spent) as u64));
        *spent += self.footprint().saturating_sub(before);
    }

    /// The bytes, zero-filled up to the known size.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.resize(self.footprint(), 0);
        out
    }
}

/// What a trace says of the app's files.
#[derive(Default)]
pub struct Files {
    /// The preopens, by guest path, in order.
    pub preopens: Vec<String>,
    /// The directories that were there (guest paths).
    directories: BTreeSet<String>,
    /// The files that were there, as read before the app wrote them.
    found: BTreeMap<String, Image>,
    /// The files the app wrote, as far as the trace keeps what it wrote; `None` for one whose
    /// bytes are not kept (written with `descriptor.write`, resized).
    pub written: BTreeMap<String, Option<Image>>,
    /// Paths the app wrote, truncated, removed or renamed: later reads are not of what was
    /// there.
    touched: BTreeSet<String>,
    descriptors: Descriptors,
    /// File streams: where the next read or write of each goes.
    positions: HashMap<StreamId, (String, u64)>,
    /// Appending streams (their offsets are the file's end).
    appending: BTreeSet<StreamId>,
    /// Directory-entry streams: the directory each lists.
    listing: HashMap<u32, String>,
    /// The bytes all images stand for, together at most [`MAX_BYTES`] (sizes and offsets come
    /// from the trace).
    spent: usize,
    /// The last write on each file stream whose bytes (a `wrote` event) have not come yet:
    /// the file, the offset it wrote at and its length.
    pending: HashMap<StreamId, (String, u64, u64)>,
}

impl Files {
    /// Takes in `e`, the next event of the trace.
    pub fn push(&mut self, e: &Event) {
        self.descriptors.follow(e);
        let path = |fd: Fd, ds: &Descriptors| ds.path(fd).map(str::to_string);
        if let Some((_, dirs)) = e.get::<f::GetDirectories>() {
            for (_, p) in dirs {
                let p = normalise_path(p);
                self.directories.insert(p.clone());
                self.preopens.push(p);
            }
        } else if let Some((c, Ok(fd))) = e.get::<f::OpenAt>() {
            let Some(p) = path(*fd, &self.descriptors) else {
                return;
            };
            if c.open_flags & DIRECTORY != 0 {
                self.directories.insert(p);
            } else if c.open_flags & TRUNCATE != 0 {
                self.touched.insert(p.clone());
                self.written.insert(p, Some(Image::default()));
            } else if c.open_flags & CREATE == 0 && !self.touched.contains(&p) {
                // It was there (or the app made it before, which `touched` says).
                self.found.entry(p).or_default();
            }
        } else if let Some((c, Ok(stat))) = e.get::<f::Stat>() {
            if let Some(p) = path(c.fd, &self.descriptors) {
                self.saw(p, stat);
            }
        } else if let Some((c, Ok(stat))) = e.get::<f::StatAt>() {
            if let Some(dir) = path(c.fd, &self.descriptors) {
                self.saw(joined(&dir, &c.path), stat);
            }
        } else if let Some((c, Ok((bytes, end)))) = e.get::<f::Read>() {
            if let Some(p) = path(c.fd, &self.descriptors) {
                self.read(&p, c.offset, &bytes.0, *end);
            }
        } else if let Some((c, Ok(s))) = e.get::<f::ReadViaStream>() {
            if let Some(p) = path(c.fd, &self.descriptors) {
                self.positions.insert(*s, (p, c.offset));
            }
        } else if let Some((c, Ok(s))) = e.get::<f::WriteViaStream>() {
            if let Some(p) = path(c.fd, &self.descriptors) {
                self.wrote_to(&p);
                self.positions.insert(*s, (p, c.offset));
            }
        } else if let Some((c, Ok(s))) = e.get::<f::AppendViaStream>() {
            if let Some(p) = path(c.fd, &self.descriptors) {
                self.wrote_to(&p);
                self.positions.insert(*s, (p, 0));
                self.appending.insert(*s);
            }
        } else if let Some((c, r)) = e.get::<streams::Read>() {
            let Some((p, at)) = self.positions.get(&c.stream).cloned() else {
                return;
            };
            match r {
                Ok(bytes) => {
                    self.read(&p, at, &bytes.0, false);
                    if let Some(pos) = self.positions.get_mut(&c.stream) {
                        pos.1 += bytes.0.len() as u64;
                    }
                }
                Err(StreamError::Closed) => self.read(&p, at, &[], true),
                Err(_) => {}
            }
        } else if let Some((c, Ok(()))) = e.get::<streams::Write>() {
            if let Some((p, at)) = self.positions.get(&c.stream).cloned() {
                self.unkept(c.stream);
                let at = if self.appending.contains(&c.stream) {
                    self.end_of(&p)
                } else {
                    at
                };
                self.pending.insert(c.stream, (p.clone(), at, c.len));
                self.positions.insert(c.stream, (p, at + c.len));
            }
        } else if let Some((c, _)) = e.get::<streams::Wrote>() {
            if let Some((p, at, len)) = self.pending.remove(&c.stream) {
                match self.written.get_mut(&p) {
                    Some(Some(image)) if c.data.0.len() as u64 == len => {
                        image.put(at, &c.data.0, &mut self.spent)
                    }
                    _ => {
                        self.written.insert(p, None);
                    }
                }
            }
        } else if let Some((c, _)) = e.get::<f::Write>() {
            if let Some(p) = path(c.fd, &self.descriptors) {
                self.touched.insert(p.clone());
                self.written.insert(p, None);
            }
        } else if let Some((c, _)) = e.get::<f::SetSize>() {
            if let Some(p) = path(c.fd, &self.descriptors) {
                self.touched.insert(p.clone());
                let cleared = (c.size == 0).then(Image::default);
                self.written.insert(p, cleared);
            }
        } else if let Some((c, Ok(d))) = e.get::<f::ReadDirectory>() {
            if let Some(p) = path(c.fd, &self.descriptors) {
                self.listing.insert(*d, p);
            }
        } else if let Some((c, Ok(Some(entry)))) = e.get::<f::ReadDirectoryEntry>() {
            if let Some(dir) = self.listing.get(&c.dir).cloned() {
                let p = joined(&dir, &entry.name);
                if self.touched.contains(&p) {
                    return;
                }
                match entry.kind {
                    DescriptorType::Directory => {
                        self.directories.insert(p);
                    }
                    _ => {
                        self.found.entry(p).or_default();
                    }
                }
            }
        } else if let Some((c, _)) = e.get::<f::UnlinkFileAt>() {
            if let Some(dir) = path(c.fd, &self.descriptors) {
                let p = joined(&dir, &c.path);
                self.touched.insert(p.clone());
                self.written.remove(&p);
            }
        } else if let Some((c, _)) = e.get::<f::RenameAt>() {
            if let (Some(a), Some(b)) = (
                path(c.fd, &self.descriptors),
                path(c.new_fd, &self.descriptors),
            ) {
                let (from, to) = (joined(&a, &c.old_path), joined(&b, &c.new_path));
                self.touched.insert(from.clone());
                self.touched.insert(to.clone());
                let moved = self.written.remove(&from).unwrap_or(None);
                self.written.insert(to, moved);
            }
        } else if let Some((c, _)) = e.get::<f::CreateDirectoryAt>()
            && let Some(dir) = path(c.fd, &self.descriptors)
        {
            self.touched.insert(joined(&dir, &c.path));
        }
    }

    /// The last write on `stream` kept no bytes: its file's contents are not known.
    fn unkept(&mut self, stream: StreamId) {
        if let Some((p, _, len)) = self.pending.remove(&stream)
            && len > 0
        {
            self.written.insert(p, None);
        }
    }

    /// The known end of the file the app writes at `p`.
    fn end_of(&self, p: &str) -> u64 {
        self.written
            .get(p)
            .and_then(Option::as_ref)
            .map_or(0, |i| i.data.len() as u64)
    }

    /// The app writes to `p`: later reads are not of what was there.
    fn wrote_to(&mut self, p: &str) {
        self.touched.insert(p.to_string());
        self.written
            .entry(p.to_string())
            .or_insert_with(|| Some(Image::default()));
    }

    /// The app read `bytes` at `offset` of `p` (`end`: and found its end there).
    fn read(&mut self, p: &str, offset: u64, bytes: &[u8], end: bool) {
        if self.touched.contains(p) {
            return;
        }
        let image = self.found.entry(p.to_string()).or_default();
        image.put(offset, bytes, &mut self.spent);
        if end {
            image.set_size(offset + bytes.len() as u64, &mut self.spent);
        }
    }

    /// The app stat'ed `p`.
    fn saw(&mut self, p: String, stat: &f::DescriptorStat) {
        if self.touched.contains(&p) {
            return;
        }
        match stat.kind {
            DescriptorType::Directory => {
                self.directories.insert(p);
            }
            DescriptorType::RegularFile => {
                let image = self.found.entry(p).or_default();
                let size = image.size.unwrap_or(0).max(stat.size);
                image.set_size(size, &mut self.spent);
            }
            _ => {}
        }
    }

    /// The trace is over: writes whose bytes never came are not kept.
    pub fn finish(&mut self) {
        let streams: Vec<StreamId> = self.pending.keys().copied().collect();
        for s in streams {
            self.unkept(s);
        }
    }

    /// Makes the preopens again under `root` (one directory each), with the directories and
    /// files the app found. Returns each preopen's host directory and guest path.
    ///
    /// Errors: a file or directory cannot be made.
    pub fn make(&self, root: &Path) -> Result<Vec<(PathBuf, String)>> {
        let mut out = Vec::new();
        for (i, guest) in self.preopens.iter().enumerate() {
            let host = root.join(format!("preopen-{i}"));
            std::fs::create_dir_all(&host)
                .with_context(|| format!("cannot create {}", host.display()))?;
            out.push((host, guest.clone()));
        }
        for dir in &self.directories {
            if let Some(host) = self.host_path(root, dir) {
                std::fs::create_dir_all(&host)
                    .with_context(|| format!("cannot create {}", host.display()))?;
            }
        }
        for (file, image) in &self.found {
            if let Some(host) = self.host_path(root, file) {
                if let Some(parent) = host.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                if !host.is_dir() {
                    std::fs::write(&host, image.bytes())
                        .with_context(|| format!("cannot write {}", host.display()))?;
                }
            }
        }
        Ok(out)
    }

    /// Where the guest path `p` is under `root`, as [`Files::make`] lays the preopens out:
    /// under the preopen whose path is the longest prefix of it.
    pub fn host_path(&self, root: &Path, p: &str) -> Option<PathBuf> {
        let mut best: Option<(usize, PathBuf)> = None;
        for (i, dir) in self.preopens.iter().enumerate() {
            let rest = if dir == "." {
                (!p.starts_with('/')).then_some(p)
            } else if p == dir {
                Some("")
            } else {
                p.strip_prefix(dir.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            if let Some(rest) = rest
                && best.as_ref().is_none_or(|(len, _)| dir.len() > *len)
            {
                let host = root.join(format!("preopen-{i}"));
                best = Some((
                    dir.len(),
                    if rest.is_empty() || rest == "." {
                        host
                    } else {
                        host.join(rest)
                    },
                ));
            }
        }
        best.map(|(_, p)| p)
    }

    /// The files the app wrote as the trace keeps them: each guest path, and its bytes when
    /// the trace keeps them all.
    pub fn written_outputs(&self) -> BTreeMap<String, Option<Output>> {
        self.written
            .iter()
            .map(|(p, image)| (p.clone(), image.as_ref().map(|i| Output::of(&i.bytes()))))
            .collect()
    }

    /// The files under the preopens that the app under test changed or made: every regular
    /// file under `root` whose bytes are not those [`Files::make`] wrote, by guest path.
    pub fn changed(&self, made: &[(PathBuf, String)]) -> BTreeMap<String, Output> {
        let mut out = BTreeMap::new();
        for (host, guest) in made {
            let mut stack = vec![host.clone()];
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let Ok(rel) = path.strip_prefix(host) else {
                        continue;
                    };
                    let rel = rel.to_string_lossy();
                    let g = if guest == "." {
                        rel.to_string()
                    } else {
                        format!("{guest}/{rel}")
                    };
                    let Ok(bytes) = read_capped(&path) else {
                        continue;
                    };
                    let before = self.found.get(&g).map(Image::bytes);
                    if before.as_deref() != Some(bytes.as_slice()) {
                        out.insert(g, Output::of(&bytes));
                    }
                }
            }
        }
        out
    }
}

/// `dir/path`, normalised.
fn joined(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        normalise_path(path)
    } else {
        normalise_path(&format!("{dir}/{path}"))
    }
}

/// The first [`MAX_BYTES`] of the file at `path`.
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES as u64)
        .read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_rr_trace::fs::{DescriptorStat, DirEntry};
    use wasm_rr_trace::{Bytes, Fixed64, Request, WriteOp};

    fn stat(kind: DescriptorType, size: u64) -> Box<DescriptorStat> {
        Box::new(DescriptorStat {
            kind,
            link_count: 1,
            size,
            atime: None,
            mtime: None,
            ctime: None,
        })
    }

    fn open(fd: Fd, path: &str, open_flags: u8, new: Fd) -> Event {
        f::OpenAt {
            fd,
            path_flags: 0,
            path: path.into(),
            open_flags,
            flags: 0,
        }
        .into_event(Ok(new))
    }

    #[test]
    fn the_files_found_are_made_again_and_those_written_kept() {
        let s = |n| StreamId(n);
        let events = vec![
            f::GetDirectories {}.into_event(vec![(3, "data".into())]),
            open(3, "in.txt", 0, 4),
            f::ReadViaStream { fd: 4, offset: 0 }.into_event(Ok(s(5))),
            streams::Read {
                stream: s(5),
                len: 100,
                blocking: false,
            }
            .into_event(Ok(Bytes(b"abc".to_vec()))),
            streams::Read {
                stream: s(5),
                len: 100,
                blocking: false,
            }
            .into_event(Err(StreamError::Closed)),
            f::StatAt {
                fd: 3,
                path_flags: 0,
                path: "big.bin".into(),
            }
            .into_event(Ok(stat(DescriptorType::RegularFile, 10))),
            f::ReadDirectory { fd: 3 }.into_event(Ok(0)),
            f::ReadDirectoryEntry { dir: 0 }.into_event(Ok(Some(DirEntry {
                kind: DescriptorType::Directory,
                name: "sub".into(),
            }))),
            // Written through a stream, whose bytes the trace keeps.
            open(3, "out.txt", CREATE | TRUNCATE, 6),
            f::WriteViaStream { fd: 6, offset: 0 }.into_event(Ok(s(7))),
            streams::Write {
                stream: s(7),
                op: WriteOp::Write,
                len: 5,
                hash: Fixed64(0),
            }
            .into_event(Ok(())),
            streams::Wrote {
                stream: s(7),
                data: Bytes(b"hello".to_vec()),
            }
            .into_event(()),
            // Written with `descriptor.write`: length and hash only; then read back, which is
            // not what was there.
            open(3, "log.txt", CREATE, 8),
            f::Write {
                fd: 8,
                len: 3,
                hash: Fixed64(0),
                offset: 0,
            }
            .into_event(Ok(3)),
            f::Read {
                fd: 8,
                len: 3,
                offset: 0,
            }
            .into_event(Ok((Bytes(b"xyz".to_vec()), true))),
        ];
        let mut files = Files::default();
        events.iter().for_each(|e| files.push(e));
        files.finish();
        let root = tempfile::tempdir().unwrap();
        let made = files.make(root.path()).unwrap();
        let host = root.path().join("preopen-0");
        assert_eq!(made, vec![(host.clone(), "data".to_string())]);
        assert_eq!(std::fs::read(host.join("in.txt")).unwrap(), b"abc");
        assert_eq!(std::fs::read(host.join("big.bin")).unwrap(), vec![0; 10]);
        assert!(host.join("sub").is_dir());
        assert!(!host.join("log.txt").exists() && !host.join("out.txt").exists());
        let written = files.written_outputs();
        assert_eq!(
            written,
            BTreeMap::from([
                ("data/log.txt".to_string(), None),
                ("data/out.txt".to_string(), Some(Output::of(b"hello"))),
            ])
        );
        // What a run then changes or makes is what it wrote.
        std::fs::write(host.join("out.txt"), "hello").unwrap();
        std::fs::write(host.join("sub/new.txt"), "n").unwrap();
        assert_eq!(
            files.changed(&made),
            BTreeMap::from([
                ("data/out.txt".to_string(), Output::of(b"hello")),
                ("data/sub/new.txt".to_string(), Output::of(b"n")),
            ])
        );
    }

    #[test]
    fn the_sizes_a_trace_gives_are_bounded_together() {
        let stat_at = |path: &str, size: u64| {
            f::StatAt {
                fd: 3,
                path_flags: 0,
                path: path.into(),
            }
            .into_event(Ok(stat(DescriptorType::RegularFile, size)))
        };
        let events = [
            f::GetDirectories {}.into_event(vec![(3, "data".into())]),
            stat_at("a.bin", 60 << 20),
            stat_at("b.bin", 60 << 20),
            stat_at("c.bin", u64::MAX),
        ];
        let mut files = Files::default();
        events.iter().for_each(|e| files.push(e));
        let root = tempfile::tempdir().unwrap();
        files.make(root.path()).unwrap();
        let len = |n: &str| {
            std::fs::metadata(root.path().join("preopen-0").join(n))
                .unwrap()
                .len()
        };
        assert_eq!(
            (len("a.bin"), len("b.bin"), len("c.bin")),
            (60 << 20, 4 << 20, 0)
        );
    }
}

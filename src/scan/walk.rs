//! The directory walk: parallel (ripgrep's `ignore` walker with every ignore-file filter
//! off), metadata read by the worker threads, results sorted by relative path bytes so the
//! order never depends on scheduling.

use rayon::slice::ParallelSliceMut;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use super::{FileEntry, Skipped, WalkOptions, rel_bytes, show_path};
use crate::error::{Error, Result};

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn inode(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// The (size, mtime, inode) that decide whether a file changed.
pub(super) fn version(meta: &std::fs::Metadata) -> (u64, i64, u64) {
    (meta.len(), mtime_ns(meta), inode(meta))
}

/// Files found, each with what `visit` returned, and what was skipped.
pub type Walked<T> = (Vec<(FileEntry, T)>, Vec<Skipped>);

enum Item<T> {
    File(FileEntry, T),
    Skip(Skipped),
    Fail(Vec<u8>, Error),
}

/// Peels the path, loop and I/O parts out of the walker's nested error.
fn parts(e: ignore::Error) -> (Option<PathBuf>, Option<PathBuf>, Option<io::Error>) {
    match e {
        ignore::Error::WithPath { path, err } => {
            let (_, a, io) = parts(*err);
            (Some(path), a, io)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            parts(*err)
        }
        ignore::Error::Loop { ancestor, child } => (Some(child), Some(ancestor), None),
        ignore::Error::Io(io) => (None, None, Some(io)),
        other => (None, None, Some(io::Error::other(other.to_string()))),
    }
}

fn classify<T>(
    root: &Path,
    opts: &WalkOptions,
    stat: bool,
    visit: &(dyn Fn(&mut FileEntry) -> T + Sync),
    r: std::result::Result<ignore::DirEntry, ignore::Error>,
) -> Option<Item<T>> {
    let rel_of = |p: &Path| rel_bytes(p.strip_prefix(root).unwrap_or(p));
    let entry = match r {
        Ok(e) => e,
        Err(e) => {
            let (path, ancestor, io) = parts(e);
            let path = path.unwrap_or_else(|| root.to_path_buf());
            let rel = rel_of(&path);
            if let Some(a) = ancestor {
                return Some(Item::Skip(Skipped {
                    path: show_path(&rel),
                    reason: format!("symbolic link loop back to {}", a.display()),
                }));
            }
            let io = io.unwrap_or_else(|| io::Error::other("cannot walk"));
            let broken_link = opts.follow_links
                && io.kind() == io::ErrorKind::NotFound
                && std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            if broken_link {
                return Some(Item::Skip(Skipped {
                    path: show_path(&rel),
                    reason: "broken symbolic link".into(),
                }));
            }
            if opts.skip_unreadable {
                return Some(Item::Skip(Skipped {
                    path: show_path(&rel),
                    reason: format!("unreadable: {io}"),
                }));
            }
            return Some(Item::Fail(rel, Error::io(path, io)));
        }
    };
    let ft = entry.file_type()?;
    if ft.is_dir() {
        return None;
    }
    let rel = rel_of(entry.path());
    if opts.partition.is_some_and(|p| !p.holds(&rel)) {
        return None;
    }
    if !ft.is_file() {
        let reason = if ft.is_symlink() {
            "symbolic link (not followed; --follow-links follows)"
        } else {
            "not a regular file (FIFO, socket or device)"
        };
        return Some(Item::Skip(Skipped {
            path: show_path(&rel),
            reason: reason.into(),
        }));
    }
    let mut entry = FileEntry {
        rel,
        abs: entry.into_path(),
        size: 0,
        mtime_ns: 0,
        inode: 0,
    };
    if stat {
        let meta = if opts.follow_links {
            std::fs::metadata(&entry.abs)
        } else {
            std::fs::symlink_metadata(&entry.abs)
        };
        match meta {
            Ok(meta) => (entry.size, entry.mtime_ns, entry.inode) = version(&meta),
            Err(e) if opts.skip_unreadable => {
                return Some(Item::Skip(Skipped {
                    path: show_path(&entry.rel),
                    reason: format!("unreadable: {e}"),
                }));
            }
            Err(e) => return Some(Item::Fail(entry.rel, Error::io(&entry.abs, e))),
        }
    }
    let out = visit(&mut entry);
    Some(Item::File(entry, out))
}

/// Walks `dir` and calls `visit` on every regular file from the walker's threads, so work
/// on files (hashing) runs while the walk goes on. Symbolic links (when not followed), link
/// loops and special files are listed as skipped; excluded paths are left out. With `stat`, each entry carries its
/// (size, mtime, inode) before `visit` sees it; without, `visit` fills them in. Results
/// come back sorted by relative path bytes.
pub fn walk_with<T: Send>(
    dir: &Path,
    opts: &WalkOptions,
    stat: bool,
    visit: &(dyn Fn(&mut FileEntry) -> T + Sync),
) -> Result<Walked<T>> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::input(dir.display().to_string(), "not a directory"));
    }
    let mut globs = globset::GlobSetBuilder::new();
    for pat in &opts.excludes {
        let g = globset::Glob::new(pat).map_err(|e| Error::input("--exclude", e.to_string()))?;
        globs.add(g);
    }
    let excludes = Arc::new(
        globs
            .build()
            .map_err(|e| Error::input("--exclude", e.to_string()))?,
    );
    let root = dir.to_path_buf();
    let mut builder = ignore::WalkBuilder::new(dir);
    builder
        .standard_filters(false)
        .follow_links(opts.follow_links)
        .threads(opts.threads);
    if !excludes.is_empty() {
        let root = root.clone();
        builder.filter_entry(move |e| {
            let rel = e.path().strip_prefix(&root).unwrap_or(e.path());
            e.depth() == 0 || !excludes.is_match(rel)
        });
    }
    let (tx, rx) = mpsc::channel();
    builder.build_parallel().run(|| {
        let tx = tx.clone();
        let root = &root;
        Box::new(move |r| {
            if let Some(item) = classify(root, opts, stat, visit, r) {
                // The receiver outlives the walk, so a send cannot fail.
                let _ = tx.send(item);
            }
            ignore::WalkState::Continue
        })
    });
    drop(tx);
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for item in rx {
        match item {
            Item::File(f, t) => files.push((f, t)),
            Item::Skip(s) => skipped.push(s),
            Item::Fail(rel, e) => failures.push((rel, e)),
        }
    }
    // Report the first failure in path order, so the error does not depend on scheduling.
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some((_, e)) = failures.into_iter().next() {
        return Err(e);
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((sorted_by_path(files), skipped))
}

/// `files` in relative-path order. The entries carry each file's facts (hundreds of
/// bytes): sorting them in place moved every one O(log n) times, a measurable share of a
/// scan of many small files. An index is sorted instead, and each entry moved once.
fn sorted_by_path<T>(files: Vec<(FileEntry, T)>) -> Vec<(FileEntry, T)> {
    // The paths are gathered beside their indexes and sorted on every core. Paths are
    // unique: an unstable sort gives the one order.
    let mut keys: Vec<(&[u8], usize)> = files
        .iter()
        .enumerate()
        .map(|(k, f)| (f.0.rel.as_slice(), k))
        .collect();
    keys.par_sort_unstable();
    let order: Vec<usize> = keys.into_iter().map(|(_, k)| k).collect();
    let mut slots: Vec<Option<(FileEntry, T)>> = files.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

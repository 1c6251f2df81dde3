//! What goes into a whole-folder archive (the ZIP download of a public link's folder): every
//! file and folder below a folder as the viewer sees it, under its name relative to that
//! folder, in a fixed order, and at most `MAX_ARCHIVE_ENTRIES` of them.
//!
//! This module owns only that walk. Packing and streaming the bytes belong to the protocol
//! layer, which opens each listed file with `Core::open_file`; permissions are the ones
//! `Core::listing` applies, so an archive never holds more than the viewer could list and
//! download one by one.

use crate::access::perm;
use crate::{Core, CoreError, CoreResult, TreePath, Viewer};
use hafen_meta::{Node, NodeId};
use std::collections::{HashSet, VecDeque};

/// Most entries (files and folders) one archive may hold. Bounds the memory of the walk and of
/// the archive's central directory (about a hundred bytes per entry); a larger folder is
/// refused with `CoreError::PayloadTooLarge` before anything is sent.
pub const MAX_ARCHIVE_ENTRIES: usize = 100_000;

/// One file or folder below the archived folder.
#[derive(Debug, Clone)]
pub struct ArchiveEntry {
    /// The path relative to the archived folder, names separated by `/`; a folder's ends
    /// with `/` (`"sub/"`, `"sub/a.txt"`). Names are validated tree names, so none is empty,
    /// `.` or `..`, and none contains `/` or `\`.
    pub name: String,
    /// The node as listed: `open_file` it to read a file's current version.
    pub node: Node,
}

impl Core {
    /// Everything below the folder at `path` (not the folder itself), sorted by `name`
    /// (bytewise: a folder comes before what it holds). Walks breadth-first without
    /// recursion, one `listing` per folder. NotFound when the viewer may not read the folder
    /// (a file-drop link); NotAllowed for a file; PayloadTooLarge past `MAX_ARCHIVE_ENTRIES`.
    pub async fn folder_files(&self, who: &Viewer, path: &TreePath) -> CoreResult<Vec<ArchiveEntry>> {
        let base = path.names().len();
        let mut entries: Vec<ArchiveEntry> = Vec::new();
        let mut visited: HashSet<NodeId> = HashSet::new();
        let mut pending = VecDeque::from([path.clone()]);
        while let Some(folder) = pending.pop_front() {
            let mut members = self.listing(who, &folder, true).await?.entries.into_iter();
            let Some(itself) = members.next() else { continue };
            if folder == *path {
                if !itself.node.is_dir {
                    return Err(CoreError::NotAllowed(format!("{} is not a folder", path.to_key())));
                }
                if itself.perms & perm::READ == 0 {
                    // The root of a file-drop link is visible, but nothing in it.
                    return Err(CoreError::NotFound(format!("{} does not exist", path.to_key())));
                }
            }
            // A folder reached twice (never in a tree; a guard against a cycle through mounts).
            if !visited.insert(itself.node.id) {
                continue;
            }
            for entry in members {
                if entries.len() >= MAX_ARCHIVE_ENTRIES {
                    return Err(CoreError::PayloadTooLarge(format!(
                        "{} holds more than {MAX_ARCHIVE_ENTRIES} files and folders, too many for one archive",
                        path.to_key()
                    )));
                }
                let mut name = entry.path.names().get(base..).unwrap_or_default().join("/");
                if name.is_empty() {
                    continue;
                }
                if entry.node.is_dir {
                    name.push('/');
                    pending.push_back(entry.path);
                }
                entries.push(ArchiveEntry { name, node: entry.node });
            }
        }
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}

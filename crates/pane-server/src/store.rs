//! Persistence in a data directory: one JSON file per session, one JSONL journal per stream
//! (`journals/<sid>/<stream_id>.jsonl`, as upstream's `_run_journal`). Writes go to a temp file
//! then rename, so a crash never leaves half a session.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Session;

/// One journal row: a frame of a stream with its seq.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JournalRow {
    pub seq: u64,
    pub event: String,
    pub data: String,
    #[serde(default)]
    pub ts: f64,
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> std::io::Result<Store> {
        fs::create_dir_all(dir.join("sessions"))?;
        fs::create_dir_all(dir.join("journals"))?;
        fs::create_dir_all(dir.join("uploads"))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn session_path(&self, sid: &str) -> PathBuf {
        self.dir
            .join("sessions")
            .join(format!("{}.json", safe(sid)))
    }

    /// Saves a session atomically.
    pub fn save_session(&self, s: &Session) {
        let path = self.session_path(&s.session_id);
        let tmp = path.with_extension("json.tmp");
        let result = serde_json::to_vec(s)
            .map_err(std::io::Error::other)
            .and_then(|bytes| fs::write(&tmp, bytes))
            .and_then(|_| fs::rename(&tmp, &path));
        if let Err(e) = result {
            eprintln!("pane-server: could not save session {}: {e}", s.session_id);
        }
    }

    pub fn delete_session(&self, sid: &str) {
        let _ = fs::remove_file(self.session_path(sid));
        let _ = fs::remove_dir_all(self.dir.join("journals").join(safe(sid)));
    }

    /// Every saved session.
    pub fn load_sessions(&self) -> Vec<Session> {
        let Ok(rd) = fs::read_dir(self.dir.join("sessions")) else {
            return Vec::new();
        };
        rd.filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice::<Session>(&b).ok())
            .collect()
    }

    fn journal_path(&self, sid: &str, stream: &str) -> PathBuf {
        self.dir
            .join("journals")
            .join(safe(sid))
            .join(format!("{}.jsonl", safe(stream)))
    }

    /// Appends one row to a stream's journal.
    pub fn append_journal(&self, sid: &str, stream: &str, row: &JournalRow) {
        let path = self.journal_path(sid, stream);
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        let line = match serde_json::to_string(row) {
            Ok(l) => l,
            Err(_) => return,
        };
        let result = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = result {
            eprintln!("pane-server: could not append to journal {stream}: {e}");
        }
    }

    /// Deletes one stream's journal.
    pub fn forget_journal(&self, sid: &str, stream: &str) {
        let _ = fs::remove_file(self.journal_path(sid, stream));
    }

    /// Every journal: `(session id, stream id, rows)`.
    pub fn load_journals(&self) -> Vec<(String, String, Vec<JournalRow>)> {
        let mut out = Vec::new();
        let Ok(sessions) = fs::read_dir(self.dir.join("journals")) else {
            return out;
        };
        for sdir in sessions.filter_map(Result::ok) {
            let sid = sdir.file_name().to_string_lossy().to_string();
            let Ok(files) = fs::read_dir(sdir.path()) else {
                continue;
            };
            for f in files.filter_map(Result::ok) {
                let name = f.file_name().to_string_lossy().to_string();
                let Some(stream) = name.strip_suffix(".jsonl") else {
                    continue;
                };
                let rows = fs::read_to_string(f.path())
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| serde_json::from_str::<JournalRow>(l).ok())
                    .collect();
                out.push((sid.clone(), stream.to_string(), rows));
            }
        }
        out
    }

    /// Where an upload for `sid` is stored.
    pub fn upload_path(&self, sid: &str, name: &str) -> PathBuf {
        let dir = self.dir.join("uploads").join(safe(sid));
        let _ = fs::create_dir_all(&dir);
        dir.join(safe(name))
    }
}

/// A path component with nothing but safe characters.
fn safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "_".into()
    } else {
        cleaned
    }
}

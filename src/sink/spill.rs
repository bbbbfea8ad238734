//! A writer's queue of batches: bounded memory, then spill files on disk.
//!
//! Order is first in, first out across both: every batch on disk is older
//! than every batch in memory. When memory passes its bound, all of it is
//! appended to the spill files (oldest first) and memory starts empty
//! again; batches are taken from disk while there are any, then from
//! memory.
//!
//! Spill files are segments named `<stream>-<n>.spill` in the spill
//! directory, each a run of records `[len u32][xxh3 u64][batch record]`.
//! A segment is deleted once its last batch is committed, so a restart
//! finds every batch that was spilled and not yet applied (and perhaps a
//! few that were, which the store recognises by their stream and number).
//! A record cut short by a crash ends its segment.
//!
//! The batch being applied was taken out of the queue; if it came from
//! memory, the queue keeps a copy until it is committed, and a spill
//! writes that copy first, so order holds on disk too.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use tracing::{error, warn};
use xxhash_rust::xxh3::xxh3_64;

use super::batch::Batch;

/// A spill segment grows to about this size before the next one starts.
const SEGMENT_BYTES: u64 = 64 << 20;

/// Limits of a queue.
#[derive(Clone, Debug)]
pub struct QueueLimits {
    /// Octets of batches held in memory before they spill.
    pub memory: usize,
    /// Octets of spill files at most; beyond it the queue is full.
    pub disk: u64,
}

/// One writer's queue.
#[derive(Debug)]
pub struct Queue {
    dir: PathBuf,
    name: String,
    limits: QueueLimits,
    mem: VecDeque<Batch>,
    mem_bytes: usize,
    /// Segments not yet fully read, oldest first.
    segments: VecDeque<PathBuf>,
    /// The segment being read and the reader at its next record.
    reading: Option<BufReader<File>>,
    /// The segment being appended to, with its size.
    writing: Option<(File, u64)>,
    next_segment: u64,
    disk_bytes: u64,
    /// Segments of an earlier run not yet fully read.
    recovered_left: usize,
    /// A copy of the batch taken from memory and not yet committed, and
    /// whether it is on disk already.
    head_copy: Option<(Batch, bool)>,
    /// The database is unreachable: batches go to disk at once, so that a
    /// crash during an outage loses nothing that was accepted.
    outage: bool,
    /// Spilling failed (disk full, quota): the queue holds what it has in
    /// memory and takes no more until it drains.
    disk_failed: bool,
}

/// A batch taken from the queue; `done` deletes the segment it closed.
#[derive(Debug)]
pub struct Taken {
    /// The batch.
    pub batch: Batch,
    /// The spill segment this batch was the last of: delete it once the
    /// batch is committed.
    pub segment_done: Option<PathBuf>,
}

impl Queue {
    /// A queue spilling to `dir` under file names starting with `name`;
    /// `recovered` are segments of an earlier run, replayed first.
    ///
    /// # Errors
    ///
    /// The spill directory cannot be created.
    pub fn new(
        dir: &Path,
        name: &str,
        limits: QueueLimits,
        recovered: Vec<PathBuf>,
    ) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let disk_bytes = recovered
            .iter()
            .filter_map(|p| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        Ok(Self {
            dir: dir.to_owned(),
            name: name.to_owned(),
            limits,
            mem: VecDeque::new(),
            mem_bytes: 0,
            recovered_left: recovered.len(),
            segments: recovered.into(),
            head_copy: None,
            outage: false,
            reading: None,
            writing: None,
            next_segment: 0,
            disk_bytes,
            disk_failed: false,
        })
    }

    /// Spill segments left by an earlier run in `dir`, oldest first.
    pub fn recover(dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "spill"))
            .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        found.sort();
        found.into_iter().map(|(_, p)| p).collect()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.mem.is_empty() && self.segments.is_empty()
    }

    /// Whether the queue takes no more batches for now.
    pub fn is_full(&self) -> bool {
        (self.disk_failed || self.disk_bytes >= self.limits.disk)
            && self.mem_bytes >= self.limits.memory
    }

    /// Batches held in memory.
    pub fn batches_in_memory(&self) -> usize {
        self.mem.len()
    }

    /// Octets in memory and on disk.
    pub fn bytes(&self) -> (usize, u64) {
        (self.mem_bytes, self.disk_bytes)
    }

    /// Whether batches of an earlier run are still to be taken.
    pub fn has_recovered(&self) -> bool {
        self.recovered_left > 0
    }

    /// The batch taken last is committed.
    pub fn committed(&mut self) {
        self.head_copy = None;
    }

    /// Spills everything held in memory (at exit); returns how many
    /// batches it wrote.
    pub fn persist(&mut self) -> u64 {
        let before = self.mem.len() + usize::from(self.head_copy.as_ref().is_some_and(|h| !h.1));
        match self.spill_memory().and_then(|()| self.close_segment()) {
            Ok(()) => before as u64,
            Err(e) => {
                error!(error = %e, dir = %self.dir.display(), batches = before, "cannot spill at exit: these batches are lost");
                0
            }
        }
    }

    /// Marks the start or end of a database outage; during one, every
    /// batch goes to disk as it comes.
    pub fn set_outage(&mut self, on: bool) {
        if self.outage == on {
            return;
        }
        self.outage = on;
        if on {
            self.spill_or_hold();
        }
    }

    /// Adds the newest batch.
    pub fn push(&mut self, batch: Batch) {
        self.mem_bytes += batch.size();
        self.mem.push_back(batch);
        if self.mem_bytes >= self.limits.memory || self.outage {
            self.spill_or_hold();
        }
    }

    /// Spills memory if the disk allows; otherwise memory holds it.
    fn spill_or_hold(&mut self) {
        if !self.disk_failed
            && self.disk_bytes < self.limits.disk
            && let Err(e) = self.spill_memory()
        {
            self.disk_failed = true;
            error!(error = %e, dir = %self.dir.display(),
                "cannot spill to disk: batches stay in memory and reading from routers will pause when it is full");
        }
    }

    /// Appends everything in memory to the spill files.
    fn spill_memory(&mut self) -> io::Result<()> {
        let mut rec = Vec::new();
        if let Some((b, false)) = &self.head_copy {
            b.encode(&mut rec);
            self.append(&rec)?;
            if let Some(h) = &mut self.head_copy {
                h.1 = true;
            }
        }
        while let Some(b) = self.mem.front() {
            rec.clear();
            b.encode(&mut rec);
            self.append(&rec)?;
            let b = self.mem.pop_front();
            self.mem_bytes -= b.map_or(0, |b| b.size());
        }
        Ok(())
    }

    fn append(&mut self, rec: &[u8]) -> io::Result<()> {
        if self
            .writing
            .as_ref()
            .is_none_or(|(_, size)| *size >= SEGMENT_BYTES)
        {
            self.close_segment()?;
            let path = self
                .dir
                .join(format!("{}-{:06}.spill", self.name, self.next_segment));
            self.next_segment += 1;
            let f = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)?;
            self.segments.push_back(path);
            self.writing = Some((f, 0));
        }
        let Some((w, size)) = &mut self.writing else {
            return Err(io::Error::other("no spill segment open"));
        };
        let len = u32::try_from(rec.len()).map_err(|_| io::Error::other("batch too large"))?;
        let mut head = [0u8; 12];
        head[..4].copy_from_slice(&len.to_be_bytes());
        head[4..].copy_from_slice(&xxh3_64(rec).to_be_bytes());
        // Unbuffered, so a failure (a full disk) is known here, while the
        // batch is still in memory; a record written in part is cut off,
        // so the segment stays whole for the reader and later records.
        if let Err(e) = w.write_all(&head).and_then(|()| w.write_all(rec)) {
            let _ = w.set_len(*size);
            return Err(e);
        }
        let n = 12 + u64::from(len);
        *size += n;
        self.disk_bytes += n;
        Ok(())
    }

    fn close_segment(&mut self) -> io::Result<()> {
        if let Some((w, _)) = self.writing.take() {
            w.sync_data()?;
        }
        Ok(())
    }

    /// A segment was read to its end (or skipped).
    fn segment_read(&mut self) {
        self.recovered_left = self.recovered_left.saturating_sub(1);
    }

    /// Takes the oldest batch.
    pub fn pop(&mut self) -> Option<Taken> {
        while let Some(path) = self.segments.front().cloned() {
            if self.writing.is_some() && self.segments.len() == 1 {
                // Reading the segment being written: close it first.
                if let Err(e) = self.close_segment() {
                    warn!(error = %e, "closing spill segment");
                }
            }
            if self.reading.is_none() {
                match File::open(&path) {
                    Ok(f) => self.reading = Some(BufReader::with_capacity(1 << 20, f)),
                    Err(e) => {
                        error!(error = %e, file = %path.display(), "cannot read spill segment: skipped");
                        self.segment_read();
                        self.segments.pop_front();
                        continue;
                    }
                }
            }
            let next = self.reading.as_mut().and_then(|r| read_record(r, &path));
            match next {
                Some(batch) => {
                    self.disk_bytes = self.disk_bytes.saturating_sub(12 + batch.1);
                    let last = self.reading.as_mut().is_some_and(at_end);
                    let segment_done = if last {
                        self.reading = None;
                        self.segment_read();
                        self.segments.pop_front()
                    } else {
                        None
                    };
                    self.head_copy = None;
                    return Some(Taken {
                        batch: batch.0,
                        segment_done,
                    });
                }
                None => {
                    // The end of the segment (or a record cut short).
                    self.reading = None;
                    self.segment_read();
                    self.segments.pop_front();
                    let _ = fs::remove_file(&path);
                }
            }
        }
        if self.segments.is_empty() {
            self.disk_bytes = 0;
            self.disk_failed = false;
        }
        let b = self.mem.pop_front()?;
        self.mem_bytes -= b.size();
        self.head_copy = Some((b.clone(), false));
        Some(Taken {
            batch: b,
            segment_done: None,
        })
    }
}

/// Whether a segment reader has nothing left (or cannot read on).
fn at_end(r: &mut BufReader<File>) -> bool {
    use std::io::BufRead;
    r.fill_buf().map_or(true, |b| b.is_empty())
}

/// Reads one record; `None` at the end or at a damaged record.
fn read_record(r: &mut impl Read, path: &Path) -> Option<(Batch, u64)> {
    let mut head = [0u8; 12];
    r.read_exact(&mut head).ok()?;
    let (len, sum) = head.split_at(4);
    let len = u32::from_be_bytes(len.try_into().ok()?);
    let sum = u64::from_be_bytes(sum.try_into().ok()?);
    let mut rec = vec![0; usize::try_from(len).ok()?];
    if r.read_exact(&mut rec).is_err() {
        warn!(file = %path.display(), "spill segment ends in a record cut short (crash while spilling)");
        return None;
    }
    if xxh3_64(&rec) != sum {
        error!(file = %path.display(), "damaged spill record: the rest of the segment is skipped");
        return None;
    }
    match Batch::decode(&rec) {
        Ok(b) => Some((b, u64::from(len))),
        Err(e) => {
            error!(file = %path.display(), error = %e, "unreadable spill record: the rest of the segment is skipped");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::copy::TupleWriter;

    fn batch(seq: u64) -> Batch {
        let mut b = Batch {
            stream: "t".into(),
            seq,
            ..Batch::default()
        };
        TupleWriter::new(&mut b.routes, 1).bytes(&[0; 100]);
        b
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("riptide-spill-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn order_is_kept_across_memory_and_disk_and_restarts() {
        let d = dir("order");
        let limits = QueueLimits {
            memory: 1000,
            disk: 1 << 30,
        };
        let mut q = Queue::new(&d, "s", limits.clone(), Vec::new()).unwrap();
        for seq in 1..=25 {
            q.push(batch(seq));
        }
        assert!(q.bytes().1 > 0, "spilled");
        let mut got = Vec::new();
        for _ in 0..5 {
            let t = q.pop().unwrap();
            got.push(t.batch.seq);
            if let Some(p) = t.segment_done {
                fs::remove_file(p).unwrap();
            }
        }
        // New batches while the spill drains still come after it.
        q.push(batch(26));
        while let Some(t) = q.pop() {
            got.push(t.batch.seq);
        }
        assert_eq!(got, (1..=26).collect::<Vec<_>>());

        // A restart finds what was spilled and not yet committed.
        let mut q = Queue::new(&d, "s2", limits.clone(), Vec::new()).unwrap();
        for seq in 1..=20 {
            q.push(batch(seq));
        }
        drop(q);
        let mut q = Queue::new(&d, "s3", limits, Queue::recover(&d)).unwrap();
        let first = q.pop().unwrap().batch.seq;
        assert_eq!(first, 1);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_record_cut_short_ends_the_segment() {
        let d = dir("cut");
        let limits = QueueLimits {
            memory: 100,
            disk: 1 << 30,
        };
        let mut q = Queue::new(&d, "s", limits.clone(), Vec::new()).unwrap();
        q.push(batch(1));
        q.push(batch(2));
        drop(q);
        let seg = Queue::recover(&d).pop().unwrap();
        let len = fs::metadata(&seg).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let mut q = Queue::new(&d, "s2", limits, Queue::recover(&d)).unwrap();
        assert_eq!(q.pop().unwrap().batch.seq, 1);
        assert!(q.pop().is_none());
        let _ = fs::remove_dir_all(&d);
    }
}

//! Where the tool's own threads run: the load engine's workers on some CPUs, the sentinel (and
//! the embedded pipeline beside it) on others, so that the load at its ceiling does not take
//! the CPU the sentinel measures with. Lists are written as taskset writes them (`0`, `0,2`,
//! `0-3`); pinning sets the calling thread's affinity, which the threads it spawns inherit.

use std::fmt;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// A non-empty, sorted set of CPU numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CpuList(Vec<usize>);

impl CpuList {
    /// Parses `0`, `0,1`, `0-3`, `0,2-3` (no check against the machine: see [`Self::check`]).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut cpus = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (number(lo)?, number(hi)?),
                None => (number(part)?, number(part)?),
            };
            if lo > hi {
                return Err(format!("{part:?}: a range goes from low to high"));
            }
            cpus.extend(lo..=hi);
        }
        cpus.sort_unstable();
        cpus.dedup();
        Ok(Self(cpus))
    }

    /// The CPUs, ascending.
    pub fn cpus(&self) -> &[usize] {
        &self.0
    }

    /// An error unless every CPU is one this process may run on.
    pub fn check(&self) -> Result<(), String> {
        let allowed = allowed_cpus().map_err(|e| format!("cannot read the CPUs allowed: {e}"))?;
        match self.0.iter().find(|c| !allowed.0.contains(c)) {
            Some(c) => Err(format!(
                "this machine has no CPU {c} this process may use (it may use {allowed})"
            )),
            None => Ok(()),
        }
    }

    /// Whether the two lists share a CPU.
    pub fn overlaps(&self, other: &CpuList) -> bool {
        self.0.iter().any(|c| other.0.contains(c))
    }
}

fn number(s: &str) -> Result<usize, String> {
    if s.is_empty() {
        return Err("an empty CPU list or entry: use e.g. 0, 0,1 or 0-3".into());
    }
    s.parse::<usize>()
        .ok()
        .filter(|n| *n < CpuSet::count())
        .ok_or_else(|| format!("{s:?} is not a CPU number: use e.g. 0, 0,1 or 0-3"))
}

impl fmt::Display for CpuList {
    /// As taskset and `Cpus_allowed_list` write it: runs of CPUs as ranges.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut i = 0;
        while i < self.0.len() {
            let mut j = i;
            while j + 1 < self.0.len() && self.0[j + 1] == self.0[j] + 1 {
                j += 1;
            }
            let sep = if first { "" } else { "," };
            if j > i {
                write!(f, "{sep}{}-{}", self.0[i], self.0[j])?;
            } else {
                write!(f, "{sep}{}", self.0[i])?;
            }
            first = false;
            i = j + 1;
        }
        Ok(())
    }
}

/// The CPUs the calling thread may run on.
pub fn allowed_cpus() -> nix::Result<CpuList> {
    let set = sched_getaffinity(Pid::from_raw(0))?;
    let cpus = (0..CpuSet::count())
        .filter(|c| set.is_set(*c).unwrap_or(false))
        .collect();
    Ok(CpuList(cpus))
}

/// Restricts the calling thread (and the threads it spawns from now on) to `cpus`.
pub fn pin_current_thread(cpus: &CpuList) -> nix::Result<()> {
    let mut set = CpuSet::new();
    for c in &cpus.0 {
        set.set(*c)?;
    }
    sched_setaffinity(Pid::from_raw(0), &set)
}

/// The calling thread pinned to some CPUs until dropped, when its former CPUs are restored (so
/// that a library caller's thread is left as it was found).
pub struct Pinned {
    before: CpuList,
}

impl Pinned {
    /// Pins the calling thread to `cpus`.
    pub fn new(cpus: &CpuList) -> nix::Result<Self> {
        let before = allowed_cpus()?;
        pin_current_thread(cpus)?;
        Ok(Self { before })
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = pin_current_thread(&self.before);
    }
}

/// Where the threads of a run were placed; `None` for a side left to the scheduler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// `--load-cpus`: the load engine's worker threads.
    pub load_cpus: Option<CpuList>,
    /// `--sentinel-cpus`: the sentinel's threads and the embedded pipeline's.
    pub sentinel_cpus: Option<CpuList>,
}

impl Placement {
    /// True when neither side is pinned.
    pub fn is_unpinned(&self) -> bool {
        self.load_cpus.is_none() && self.sentinel_cpus.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::CpuList;

    #[test]
    fn lists_parse_as_taskset_writes_them() {
        let l = |s: &str| CpuList::parse(s).map(|l| l.cpus().to_vec());
        assert_eq!(l("0"), Ok(vec![0]));
        assert_eq!(l("0,1"), Ok(vec![0, 1]));
        assert_eq!(l("0-3"), Ok(vec![0, 1, 2, 3]));
        assert_eq!(l("3,0-1,1"), Ok(vec![0, 1, 3]));
        for bad in ["", "a", "1-", "-1", "2-1", "0,,1", "1.5", "99999"] {
            assert!(CpuList::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            CpuList::parse("0-2,4,6-7").unwrap().to_string(),
            "0-2,4,6-7"
        );
    }

    #[test]
    fn a_cpu_the_process_may_not_use_is_refused() {
        let allowed = super::allowed_cpus().unwrap();
        assert!(allowed.check().is_ok());
        let missing = CpuList::parse("1023").unwrap();
        let e = missing.check().unwrap_err();
        assert!(e.contains("no CPU 1023"), "{e}");
    }
}

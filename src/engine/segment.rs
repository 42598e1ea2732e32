//! Execution segments: a share `[start, end)` of the whole test, so one test can be split over
//! many processes with no coordinator.
//!
//! The whole test is one global sequence of batches (see [`super::schedule`]). Batch `j` sits
//! at the point `frac(j·φ)` of `[0, 1)` (φ the golden ratio, in 64-bit fixed point) and belongs
//! to the segment that holds that point. Segments that tile `[0, 1)` therefore own disjoint
//! batch sets whose union is every batch, whatever the denominators of their bounds; and as the
//! points of `j·φ` spread evenly (the three-gap theorem), any run of `n` consecutive batches
//! gives a segment `(end - start)·n` of them, give or take a few: its share of the rate at every
//! instant. Worker threads split their process's segment the same way.

use std::fmt;

/// 2^64·(φ - 1), odd: consecutive batches land far apart on the circle.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// One in fixed point (the end of the last segment).
const ONE: u128 = 1 << 64;

/// A fraction of the whole test in lowest terms, `0 ≤ num/den ≤ 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fraction {
    num: u64,
    den: u64,
}

impl Fraction {
    /// Zero.
    pub const ZERO: Fraction = Fraction { num: 0, den: 1 };
    /// One.
    pub const ONE: Fraction = Fraction { num: 1, den: 1 };

    /// `num/den` in lowest terms; `None` when `den` is 0 or the fraction exceeds 1.
    pub fn new(num: u64, den: u64) -> Option<Self> {
        if den == 0 || num > den {
            return None;
        }
        let g = gcd(num, den);
        Some(Self {
            num: num / g,
            den: den / g,
        })
    }

    /// Parses `1/4`, `0.25`, `0` or `1`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not a fraction between 0 and 1 (e.g. 1/4 or 0.25)");
        let (num, den) = match s.split_once('/') {
            Some((n, d)) => (
                n.trim().parse().map_err(|_| bad())?,
                d.trim().parse().map_err(|_| bad())?,
            ),
            None => decimal(s).ok_or_else(bad)?,
        };
        Self::new(num, den).ok_or_else(bad)
    }

    /// The fraction in 64-bit fixed point (1 is 2^64), rounded down: the same fraction always
    /// gives the same point, so adjacent segments meet exactly.
    fn fixed(self) -> u128 {
        (u128::from(self.num) << 64) / u128::from(self.den)
    }

    /// As a float, for reports and rates.
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.den {
            1 => write!(f, "{}", self.num),
            _ => write!(f, "{}/{}", self.num, self.den),
        }
    }
}

impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fraction {
    /// Exact, by cross-multiplication: `1/3` and `2/6` are equal, `1/3` is below `0.34`.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u128::from(self.num) * u128::from(other.den))
            .cmp(&(u128::from(other.num) * u128::from(self.den)))
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

/// `0.25` → (25, 100); at most 18 decimals.
fn decimal(s: &str) -> Option<(u64, u64)> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 18 {
        return None;
    }
    let digits = |d: &str| d.is_empty() || d.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    let den = 10u64.pow(frac.len() as u32);
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    Some((int.checked_mul(den)?.checked_add(frac)?, den))
}

/// A share `[start, end)` of the whole test, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    start: Fraction,
    end: Fraction,
    /// `start` and `end` in fixed point.
    lo: u128,
    hi: u128,
}

impl Segment {
    /// The whole test.
    pub const WHOLE: Segment = Segment {
        start: Fraction::ZERO,
        end: Fraction::ONE,
        lo: 0,
        hi: ONE,
    };

    /// `[start, end)`; `None` unless `start < end`.
    pub fn new(start: Fraction, end: Fraction) -> Option<Self> {
        let less = u128::from(start.num) * u128::from(end.den)
            < u128::from(end.num) * u128::from(start.den);
        less.then(|| Self {
            start,
            end,
            lo: start.fixed(),
            hi: end.fixed(),
        })
    }

    /// Where it starts.
    pub fn start(&self) -> Fraction {
        self.start
    }

    /// Where it ends.
    pub fn end(&self) -> Fraction {
        self.end
    }

    /// Its share of the test.
    pub fn share(&self) -> f64 {
        self.end.as_f64() - self.start.as_f64()
    }

    /// True for the whole test.
    pub fn is_whole(&self) -> bool {
        self.lo == 0 && self.hi == ONE
    }

    /// Part `part` of `parts` equal parts of this segment (a worker thread's share).
    pub fn part(&self, part: usize, parts: usize) -> Owner {
        let width = self.hi - self.lo;
        let at = |k: usize| self.lo + width * k as u128 / parts as u128;
        Owner {
            lo: at(part),
            hi: at(part + 1),
        }
    }

    /// The owner of the whole segment.
    pub fn owner(&self) -> Owner {
        self.part(0, 1)
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.start, self.end)
    }
}

/// This process's segment and its place in the set of segments that tile the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentPlace {
    /// The share it sends.
    pub segment: Segment,
    /// Its index in the set, from 0.
    pub index: usize,
    /// How many segments the set has.
    pub count: usize,
}

impl SegmentPlace {
    /// The whole test in one process.
    pub const WHOLE: SegmentPlace = SegmentPlace {
        segment: Segment::WHOLE,
        index: 0,
        count: 1,
    };
}

/// Which global batches a segment (or a worker's part of it) sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    lo: u128,
    hi: u128,
}

impl Owner {
    /// True when global batch `j` is this owner's.
    #[inline(always)]
    pub fn owns(&self, j: u64) -> bool {
        let point = u128::from(j.wrapping_mul(GOLDEN));
        self.lo <= point && point < self.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fraction {
        Fraction::parse(s).unwrap()
    }

    #[test]
    fn fractions_parse_in_lowest_terms() {
        assert_eq!(f("2/4"), f("0.5"));
        assert_eq!(f("1"), Fraction::ONE);
        assert_eq!(f(".25").to_string(), "1/4");
        for bad in ["5/4", "1/0", "-1/2", "x", "1.5", ""] {
            assert!(Fraction::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segments_with_any_denominators_tile_the_batches() {
        let bounds = ["0", "1/3", "0.5", "3/4", "1"];
        let owners: Vec<Owner> = bounds
            .windows(2)
            .map(|w| Segment::new(f(w[0]), f(w[1])).unwrap().owner())
            .collect();
        let mut counts = vec![0u64; owners.len()];
        for j in 0..120_000u64 {
            let holders: Vec<usize> = (0..owners.len()).filter(|&i| owners[i].owns(j)).collect();
            assert_eq!(holders.len(), 1, "batch {j}: {holders:?}");
            counts[holders[0]] += 1;
        }
        // Shares of 1/3, 1/6, 1/4 and 1/4, to within a few batches.
        for (c, want) in counts.iter().zip([40_000, 20_000, 30_000, 30_000]) {
            assert!(c.abs_diff(want) <= 4, "{counts:?}");
        }
    }

    #[test]
    fn a_segment_gets_its_share_of_every_window() {
        let owner = Segment::new(f("1/4"), f("1/2")).unwrap().owner();
        for start in (0..100_000u64).step_by(997) {
            let n = (start..start + 400).filter(|&j| owner.owns(j)).count();
            assert!(n.abs_diff(100) <= 3, "{start}: {n}");
        }
    }
}

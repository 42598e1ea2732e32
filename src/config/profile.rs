//! Profiles: TOML files that declare a scenario. Parsing is strict (unknown fields are errors)
//! and every error names the file, the line and the field.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

use super::capacity::CapacitySection;
use super::fidelity::FidelitySection;
use super::peer::PeerSection;
use super::run::{EmbeddedSection, PhaseSpec, default_phases};
use crate::encode::Encoding;
use crate::engine::RateProfile;
use crate::error::UsageError;
use crate::model::StreamSpec;
use crate::sentinel::plan::SentinelSection;
use crate::units::duration as dur;
use crate::verify::checks::CheckTolerances;

/// A whole profile file. Every section is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// The unruly load: its streams, rate profile and transport settings.
    pub load: LoadSection,
    /// The sentinel tenant.
    pub sentinel: SentinelSection,
    /// The phases of `run`, in order.
    pub phases: Vec<PhaseSpec>,
    /// How strict the checks are.
    pub checks: CheckTolerances,
    /// The embedded reference pipeline (ignored with `--target`).
    pub pipeline: EmbeddedSection,
    /// A collector placed between the generator and the embedded pipeline (see docs/targets.md, "Real
    /// peers"); none by default.
    pub peer: Option<PeerSection>,
    /// The capacity search of `span-sentinel capacity`.
    pub capacity: CapacitySection,
    /// The histogram-fidelity benchmark of `span-sentinel fidelity`.
    pub fidelity: FidelitySection,
    /// Where the verifier reads back (`--traces`, `--metrics` win over it).
    pub backends: super::backends::BackendsSection,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            load: LoadSection::default(),
            sentinel: SentinelSection::default(),
            phases: default_phases(),
            checks: CheckTolerances::default(),
            pipeline: EmbeddedSection::default(),
            peer: None,
            capacity: CapacitySection::default(),
            fidelity: FidelitySection::default(),
            backends: super::backends::BackendsSection::default(),
        }
    }
}

impl Profile {
    /// Reads and parses the profile at `path`, or the defaults without one; the source is kept
    /// to point validation errors at lines.
    pub fn read(path: Option<&Path>) -> Result<(Profile, Option<ProfileSource>), UsageError> {
        match path {
            Some(path) => {
                let (profile, source) = ProfileSource::read(path)?;
                Ok((profile, Some(source)))
            }
            None => Ok((Profile::default(), None)),
        }
    }
}

/// The `[load]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadSection {
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    /// Spans per request; each stream rounds it to whole traces (at least one).
    pub batch: usize,
    /// How long the load runs.
    #[serde(with = "dur")]
    pub duration: Duration,
    /// How the offered rate varies (`profile = "constant" | "ramp" | "steps" | "sine" | "bursts"
    /// | "max"`).
    pub rate: RateProfile,
    /// Connections each worker opens to the target.
    pub connections: usize,
    /// Requests each worker keeps in flight at most.
    pub concurrency: usize,
    /// Compress request bodies with gzip (OTLP/HTTP and OTLP/gRPC alike): the same as
    /// `compression = "gzip"`, kept for profiles written before `compression`.
    pub gzip: bool,
    /// How request bodies are compressed: `"gzip"`, `"zstd"` or `"none"` (OTLP/HTTP and
    /// OTLP/gRPC alike; the discard sink compresses and drops). Unset: `gzip` decides.
    pub compression: Option<crate::transport::Codec>,
    /// The codec's level: gzip 1 to 9 (default 1), zstd -7 to 19 (default 1). OTLP/HTTP and the
    /// discard sink only: tonic compresses gRPC at its own level.
    pub compression_level: Option<i32>,
    /// Body encoding: `"protobuf"` (default) or `"json"` (OTLP JSON; OTLP/HTTP targets only).
    /// The run's sentinel uses it too.
    pub encoding: Encoding,
    /// Header that carries the tenant.
    pub tenant_header: String,
    /// Timeout of one export attempt.
    #[serde(with = "dur")]
    pub timeout: Duration,
    /// Give a failing batch up after retrying this long.
    #[serde(with = "dur")]
    pub retry_max_elapsed: Duration,
    /// Seed of every trace and span ID; the same seed gives the same traces.
    pub seed: u64,
    /// The streams; their weights split the rate between them.
    pub streams: Vec<StreamSpec>,
}

impl Default for LoadSection {
    fn default() -> Self {
        Self {
            threads: 0,
            batch: 512,
            duration: Duration::from_secs(10),
            rate: RateProfile::default(),
            connections: 2,
            concurrency: 8,
            gzip: false,
            compression: None,
            compression_level: None,
            encoding: Encoding::Protobuf,
            tenant_header: "x-scope-orgid".into(),
            timeout: Duration::from_secs(10),
            retry_max_elapsed: Duration::from_secs(30),
            seed: 1,
            streams: vec![StreamSpec::default()],
        }
    }
}

/// The text of a profile file, kept to point errors at lines.
#[derive(Debug, Clone)]
pub struct ProfileSource {
    /// The file as named by the user.
    pub path: PathBuf,
    /// Its contents.
    pub text: String,
}

impl ProfileSource {
    /// Reads and parses a profile file.
    pub fn read(path: &Path) -> Result<(Profile, ProfileSource), UsageError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            // The file is `run`'s positional PROFILE or `load --profile`: name the file, not a flag.
            UsageError::new(format!("profile {}: cannot read it: {e}", path.display()))
        })?;
        let source = ProfileSource {
            path: path.to_owned(),
            text,
        };
        let profile = source.parse()?;
        Ok((profile, source))
    }

    /// Parses the text, mapping a TOML or schema error to file:line:column and the field.
    pub fn parse(&self) -> Result<Profile, UsageError> {
        self.parse_as()
    }

    /// Parses the text as any profile-shaped type.
    pub fn parse_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, UsageError> {
        toml::from_str(&self.text).map_err(|e| {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            self.error_at_offset(at, e.message())
        })
    }

    /// An error about the field at dotted `path` (e.g. `load.streams.1.shape.fan_out`).
    pub fn field_error(&self, path: &str, msg: &str) -> UsageError {
        match locate(&self.text, path) {
            Some(at) => self.error_at_offset(at, &format!("field `{path}`: {msg}")),
            None => UsageError::new(format!("{}: field `{path}`: {msg}", self.path.display())),
        }
    }

    fn error_at_offset(&self, at: usize, msg: &str) -> UsageError {
        let before = &self.text[..at.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        let key = self
            .text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim());
        let msg = match key {
            Some(k) if !msg.contains('`') => format!("field `{k}`: {msg}"),
            _ => msg.to_owned(),
        };
        UsageError::new(format!("{}:{line}:{col}: {msg}", self.path.display()))
    }
}

/// Byte offset of the key or element at a dotted path, for error messages.
fn locate(text: &str, path: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable<'_> = root.get_ref();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let (key, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == part)?;
        let mut value = value;
        if let (DeValue::Array(items), Some(index)) = (
            value.get_ref(),
            parts.peek().and_then(|p| p.parse::<usize>().ok()),
        ) {
            parts.next();
            value = items.get(index)?;
        }
        match (value.get_ref(), parts.peek()) {
            (DeValue::Table(inner), Some(_)) => table = inner,
            (_, None) => return Some(key.span().start),
            _ => return Some(value.span().start),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> ProfileSource {
        ProfileSource {
            path: "p.toml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn unknown_and_mistyped_fields_name_file_line_and_field() {
        let err = source("[load]\nbatch = 5\nbogus = 1\n")
            .parse()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.toml:3:1:") && err.contains("bogus"),
            "{err}"
        );
        let err = source("[load]\n\nbatch = \"many\"\n")
            .parse()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.toml:3:") && err.contains("`batch`"),
            "{err}"
        );
    }

    #[test]
    fn validation_errors_point_at_the_field() {
        let text = "[load]\n[[load.streams]]\nname = \"a\"\n[[load.streams]]\nname = \"b\"\nerror_ratio = 2.0\n";
        let err = source(text)
            .field_error("load.streams.1.error_ratio", "too big")
            .to_string();
        assert!(
            err.starts_with("p.toml:6:1: field `load.streams.1.error_ratio`"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_profile_gets_every_default() {
        assert_eq!(source("").parse().unwrap(), Profile::default());
    }
}

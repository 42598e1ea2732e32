//! Extra request headers: `--header KEY=VALUE`, `--header-file FILE` for tokens that must not
//! show in `ps` or shell history, and `OTEL_EXPORTER_OTLP_HEADERS`. Their values are secrets:
//! no error message here repeats one, and reports show only the names (see
//! [`crate::transport::redacted_headers`]).

use std::path::Path;

use crate::error::UsageError;

/// Reads a header file: one `KEY=VALUE` (or `KEY: VALUE`) a line; blank lines and lines
/// starting with `#` are skipped. Errors name the file and line, never the value.
pub fn read_file(path: &Path) -> Result<Vec<(String, String)>, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("--header-file {}: {e}", path.display())))?;
    let mut headers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let split = line.split_once('=').or_else(|| line.split_once(':'));
        let Some((k, v)) = split.filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(UsageError::new(format!(
                "--header-file {}:{}: expected KEY=VALUE",
                path.display(),
                i + 1
            )));
        };
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(headers)
}

/// The headers of the flags: the file's, with `--header` pairs over those of the same name.
pub fn from_flags(
    pairs: &[(String, String)],
    file: Option<&Path>,
) -> Result<Vec<(String, String)>, UsageError> {
    let mut headers = match file {
        Some(path) => read_file(path)?,
        None => Vec::new(),
    };
    headers.retain(|(k, _)| !pairs.iter().any(|(p, _)| p.eq_ignore_ascii_case(k)));
    headers.extend(pairs.iter().cloned());
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_file_takes_both_forms_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("headers");
        std::fs::write(&path, "# token\nauthorization=Bearer a=b\n\nx-team: core\n").unwrap();
        let flags = [("X-Team".to_owned(), "edge".to_owned())];
        let got = from_flags(&flags, Some(&path)).unwrap();
        assert_eq!(
            got,
            [
                ("authorization".to_owned(), "Bearer a=b".to_owned()),
                ("X-Team".to_owned(), "edge".to_owned()),
            ]
        );
    }

    #[test]
    fn a_bad_line_names_the_line_and_not_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("headers");
        std::fs::write(&path, "ok=1\nsecret-token-123\n").unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains(":2: expected KEY=VALUE"), "{err}");
        assert!(!err.contains("secret-token-123"), "{err}");
    }
}

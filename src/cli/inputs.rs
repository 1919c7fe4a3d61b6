//! The files `analyze` is given: plain paths, folders (their captures, sorted) and glob
//! patterns in the last path component ('sensors/ws-*.pcap'), expanded in the order given.

use std::path::{Path, PathBuf};

/// What the arguments name.
pub struct Inputs {
    pub files: Vec<PathBuf>,
    /// More than one file, or a folder or pattern (whose records are tagged by file).
    pub many: bool,
}

/// File name endings read from a folder.
const CAPTURE_ENDINGS: [&str; 4] = [".pcap", ".pcapng", ".cap", ".har"];

/// Expands folders and patterns; an argument that names nothing is an error.
pub fn expand(args: &[PathBuf]) -> Result<Inputs, String> {
    let mut files = Vec::new();
    let mut many = args.len() > 1;
    for arg in args {
        let text = arg.to_string_lossy();
        if arg.is_dir() {
            many = true;
            let found = folder_captures(arg)?;
            if found.is_empty() {
                return Err(format!(
                    "{}: no .pcap, .pcapng, .cap or .har files in this folder",
                    arg.display()
                ));
            }
            files.extend(found);
        } else if !arg.exists() && text.contains(['*', '?']) {
            many = true;
            let found = glob(arg)?;
            if found.is_empty() {
                return Err(format!("{}: the pattern matches no file", arg.display()));
            }
            files.extend(found);
        } else {
            files.push(arg.clone());
        }
    }
    Ok(Inputs { files, many })
}

fn folder_captures(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            CAPTURE_ENDINGS.iter().any(|end| name.ends_with(end))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// `*` and `?` in the file name (the folder part is taken as written); sorted matches.
fn glob(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = pattern
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if dir.to_string_lossy().contains(['*', '?']) {
        return Err(format!(
            "{}: patterns only in the file name are supported",
            pattern.display()
        ));
    }
    let mut re = String::from("^");
    for c in name.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    let re = regex::Regex::new(&re).map_err(|e| format!("{}: {e}", pattern.display()))?;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let prefix_dir = pattern.parent().filter(|p| !p.as_os_str().is_empty());
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file() && re.is_match(&e.file_name().to_string_lossy()))
        .map(|e| match prefix_dir {
            Some(d) => d.join(e.file_name()),
            None => PathBuf::from(e.file_name()),
        })
        .collect();
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_patterns_expand_sorted_and_empty_ones_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.pcap", "a.pcapng", "notes.txt", "c.har"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let inputs = expand(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = inputs.files.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
        assert_eq!(names, ["a.pcapng", "b.pcap", "c.har"]);
        assert!(inputs.many);
        let inputs = expand(&[dir.path().join("*.pcap*")]).unwrap();
        assert_eq!(inputs.files, [dir.path().join("a.pcapng"), dir.path().join("b.pcap")]);
        let err = expand(&[dir.path().join("*.nothing")]).err().unwrap();
        assert!(err.contains("matches no file"), "{err}");
        let one = expand(&[dir.path().join("b.pcap")]).unwrap();
        assert!(!one.many);
    }
}

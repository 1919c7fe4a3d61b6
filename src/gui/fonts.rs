//! Fallback fonts for the world's scripts: egui's built-in fonts cover Latin, Greek,
//! Cyrillic and emoji; CJK, Arabic, Hebrew, Devanagari and symbols come from system fonts
//! when they are installed (the README names the packages). A missing font only means
//! boxes for that script, never an error.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use egui::{FontData, FontDefinitions, FontFamily};

/// Candidates per script, best first: the first file that exists is used. Paths are those
/// of Debian/Ubuntu and Fedora packages; `~/.local/share/fonts` is looked at too.
const CANDIDATES: &[(&str, &[&str])] = &[
    (
        "cjk",
        &[
            "opentype/noto/NotoSansCJK-Regular.ttc",
            "google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
            "truetype/droid/DroidSansFallbackFull.ttf",
            "google-droid-sans-fonts/DroidSansFallbackFull.ttf",
            "truetype/wqy/wqy-microhei.ttc",
        ],
    ),
    (
        "arabic",
        &[
            "truetype/noto/NotoSansArabic-Regular.ttf",
            "google-noto/NotoSansArabic-Regular.ttf",
        ],
    ),
    (
        "hebrew",
        &[
            "truetype/noto/NotoSansHebrew-Regular.ttf",
            "google-noto/NotoSansHebrew-Regular.ttf",
        ],
    ),
    (
        "devanagari",
        &[
            "truetype/noto/NotoSansDevanagari-Regular.ttf",
            "truetype/lohit-devanagari/Lohit-Devanagari.ttf",
            "lohit-devanagari/Lohit-Devanagari.ttf",
        ],
    ),
    (
        // Symbols, Arabic and Hebrew when no Noto font is there (✓, ⚠, box drawing).
        "dejavu",
        &["truetype/dejavu/DejaVuSans.ttf", "dejavu-sans-fonts/DejaVuSans.ttf"],
    ),
];

/// Font directories searched, in order.
fn font_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/usr/share/fonts"),
        PathBuf::from("/usr/local/share/fonts"),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/share/fonts"));
    }
    dirs
}

/// The fallback fonts found on this system: (name, file), loaded once per process.
fn found() -> &'static [(String, Arc<FontData>)] {
    static FOUND: OnceLock<Vec<(String, Arc<FontData>)>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let dirs = font_dirs();
        CANDIDATES
            .iter()
            .filter_map(|(name, files)| {
                let bytes = files
                    .iter()
                    .flat_map(|f| dirs.iter().map(move |d| d.join(f)))
                    .find_map(|path| std::fs::read(path).ok())?;
                Some(((*name).to_owned(), Arc::new(FontData::from_owned(bytes))))
            })
            .collect()
    })
}

/// egui's default fonts with the system's fallbacks appended to both families.
pub fn definitions() -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    for (name, data) in found() {
        let key = format!("system-{name}");
        fonts.font_data.insert(key.clone(), data.clone());
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            fonts.families.entry(family).or_default().push(key.clone());
        }
    }
    fonts
}

/// Names of the scripts a system font was found for (for the About box and tests).
pub fn fallbacks_found() -> Vec<&'static str> {
    found()
        .iter()
        .filter_map(|(name, _)| CANDIDATES.iter().find(|(n, _)| n == name).map(|(n, _)| *n))
        .collect()
}

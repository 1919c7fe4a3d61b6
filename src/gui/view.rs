//! The filtered message list the tables and plots show, kept up to date incrementally: the
//! filter bar's simple fields, the display filter (the query language of `analyze
//! --filter`), and the table's sort order.

use crate::gui::app_decode::AppDecodeCache;
use crate::query::{AppFields, Filter as DisplayFilter, FilterError};
use crate::store::sort::{self, SortOrder};
use crate::store::{Annotations, CompiledFilter, Filter, Store};

/// Time a frame spends filtering at most: a filter over a million messages runs over
/// several frames instead of freezing the window.
const SCAN_BUDGET: std::time::Duration = std::time::Duration::from_millis(8);
/// Messages examined between two looks at the clock.
const SCAN_CHUNK: usize = 4096;

/// Indices into `Store::messages` that pass the current filters.
#[derive(Default)]
pub struct FilteredView {
    /// Matching messages in arrival order (what the plots read).
    pub rows: Vec<u32>,
    /// The same rows in the table's sort order; `None` while the sort is arrival order.
    sorted: Option<Vec<u32>>,
    /// `rows[..sorted_upto]` are in `sorted`.
    sorted_upto: usize,
    /// The filters and sort `rows` was built for.
    built_for: Option<(Filter, String, u64)>,
    sort: SortOrder,
    display: Option<DisplayFilter>,
    /// The display filter reads application fields (`mqtt.topic`…).
    reads_app: bool,
    /// Application decoding (summaries, trees, round trips), lazy and cached; a `RefCell`
    /// because panes decode the rows they draw while reading the rest of the app.
    pub apps: std::cell::RefCell<AppDecodeCache>,
    /// Messages of the store already examined.
    scanned: usize,
    /// Why the filter's text could not be used (a bad regular expression).
    pub error: Option<String>,
    /// Why the display filter could not be used, with the column of the mistake.
    pub display_error: Option<FilterError>,
    /// RTTs and findings per message (for the display filter, the RTT column and its sort).
    pub annotations: Annotations,
    /// Changes whenever `rows` is rebuilt from scratch (rows are otherwise only appended), so
    /// caches built from `rows` know when to start over.
    pub generation: u64,
}

impl FilteredView {
    /// Brings `rows` up to date with the filters, the sort and the store: a changed filter
    /// rescans all messages, new messages are examined once and merged into the sort.
    pub fn refresh(&mut self, store: &Store, filter: &Filter, display: &str, sort: SortOrder) {
        // New "decode as" rules change summaries and app fields: filter again.
        let wanted = (
            filter.clone(),
            display.trim().to_owned(),
            self.apps.get_mut().generation,
        );
        if self.built_for.as_ref() != Some(&wanted) {
            self.display = None;
            self.display_error = None;
            self.reads_app = false;
            if !wanted.1.is_empty() {
                match DisplayFilter::compile(&wanted.1) {
                    Ok(f) => {
                        self.reads_app = f.reads_app();
                        self.display = Some(f);
                    }
                    // A broken expression filters nothing out; the error is shown under it.
                    Err(e) => self.display_error = Some(e),
                }
            }
            self.rows.clear();
            self.scanned = 0;
            self.built_for = Some(wanted);
            self.generation += 1;
            self.sorted = None;
            self.sorted_upto = 0;
        }
        if self.sort != sort {
            self.sort = sort;
            self.sorted = None;
            self.sorted_upto = 0;
        }
        self.annotations.refresh(store);
        if self.scanned >= store.messages.len() {
            self.update_sort(store);
            return;
        }
        // The text part (a regex) is compiled once per frame, not once per slice.
        let compiled = filter.compile();
        self.error = compiled.as_ref().err().cloned();
        let deadline = std::time::Instant::now() + SCAN_BUDGET;
        while self.scanned < store.messages.len() {
            let upto = (self.scanned + SCAN_CHUNK).min(store.messages.len());
            self.scan(store, compiled.as_ref().ok(), upto);
            if std::time::Instant::now() >= deadline {
                break;
            }
        }
        // Sorting waits for the scan to finish: merging every frame's share would cost more
        // than one sort at the end.
        if !self.scanning(store) {
            self.update_sort(store);
        }
    }

    /// True while messages already loaded wait to be examined (a new filter over a large
    /// capture takes several frames; the table shows what matched so far).
    pub fn scanning(&self, store: &Store) -> bool {
        self.scanned < store.messages.len()
    }

    /// How much of the store has been examined, 0 to 1.
    pub fn progress(&self, store: &Store) -> f32 {
        if store.messages.is_empty() {
            1.0
        } else {
            self.scanned as f32 / store.messages.len() as f32
        }
    }

    /// Examines `store.messages[scanned..upto]`; `compiled` is `None` for a broken regex,
    /// which filters nothing out (the error is shown next to the field).
    fn scan(&mut self, store: &Store, compiled: Option<&CompiledFilter<'_>>, upto: usize) {
        let from = self.rows.len();
        let apps = self.apps.get_mut();
        match compiled {
            // The text is also looked for in the application summary (`PUBLISH sensors/t1`).
            Some(compiled) if compiled.has_text() => {
                for (i, row) in store.messages.iter().enumerate().take(upto).skip(self.scanned) {
                    let matched = compiled.matches(row, store.payload(row))
                        || (compiled.matches_besides_text(row)
                            && apps.summary(store, i as u32).is_some_and(|s| compiled.text_in(s)));
                    if matched {
                        self.rows.push(i as u32);
                    }
                }
            }
            Some(compiled) => compiled.extend_matches(store, self.scanned, upto, &mut self.rows),
            None => self.rows.extend(self.scanned as u32..upto as u32),
        }
        if let Some(display) = &self.display {
            let annotations = &self.annotations;
            let mut kept = from;
            for i in from..self.rows.len() {
                let Some(&m) = self.rows.get(i) else { break };
                // Each connection decodes in its own order, so asking for the candidates in
                // arrival order gives what `analyze --filter` sees.
                let decoded = if self.reads_app { apps.get(store, m) } else { None };
                let matched = annotations.view(store, m).is_some_and(|mut v| {
                    v.app = decoded.map(|d| d as &dyn AppFields);
                    display.matches(&v)
                });
                if matched {
                    if let Some(slot) = self.rows.get_mut(kept) {
                        *slot = m;
                    }
                    kept += 1;
                }
            }
            self.rows.truncate(kept);
        }
        self.scanned = upto;
    }

    fn update_sort(&mut self, store: &Store) {
        if self.sort.is_arrival() {
            self.sorted = None;
            return;
        }
        let annotations = &self.annotations;
        let rtt = |m: u32| annotations.rtt_ms(store, m);
        match &mut self.sorted {
            None => {
                let mut all = self.rows.clone();
                sort::sort_rows(store, self.sort, &rtt, &mut all);
                self.sorted = Some(all);
            }
            Some(sorted) if self.sorted_upto < self.rows.len() => {
                let new = self.rows.get(self.sorted_upto..).unwrap_or_default().to_vec();
                sort::merge_new(store, self.sort, &rtt, sorted, new);
            }
            Some(_) => {}
        }
        self.sorted_upto = self.rows.len();
    }

    /// The rows in the table's order.
    pub fn shown(&self) -> &[u32] {
        self.sorted.as_deref().unwrap_or(&self.rows)
    }

    pub fn sort(&self) -> SortOrder {
        self.sort
    }

    /// Position of a message in the table.
    pub fn position_of(&self, message: u32) -> Option<usize> {
        match &self.sorted {
            Some(sorted) => sorted.iter().position(|&m| m == message),
            None => self.rows.binary_search(&message).ok(),
        }
    }
}

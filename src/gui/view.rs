//! The filtered message list the tables and plots show, kept up to date incrementally.

use crate::store::{Filter, Store};

/// Indices into `Store::messages` that pass the current filter.
#[derive(Default)]
pub struct FilteredView {
    pub rows: Vec<u32>,
    /// The filter `rows` was built for.
    built_for: Option<Filter>,
    /// Messages of the store already examined.
    scanned: usize,
    /// Why the filter's text could not be used (a bad regular expression).
    pub error: Option<String>,
    /// Changes whenever `rows` is rebuilt from scratch (rows are otherwise only appended), so
    /// caches built from `rows` know when to start over.
    pub generation: u64,
}

impl FilteredView {
    /// Brings `rows` up to date with `filter` and the store: a changed filter rescans all
    /// messages, new messages are only examined once.
    pub fn refresh(&mut self, store: &Store, filter: &Filter) {
        if self.built_for.as_ref() != Some(filter) {
            self.rows.clear();
            self.scanned = 0;
            self.built_for = Some(filter.clone());
            self.generation += 1;
        }
        if self.scanned >= store.messages.len() {
            return;
        }
        match filter.compile() {
            Ok(compiled) => {
                self.error = None;
                compiled.extend_matches(store, self.scanned, &mut self.rows);
            }
            Err(e) => {
                // A broken regex filters nothing out; the error is shown next to the field.
                self.error = Some(e);
                self.rows.extend(self.scanned as u32..store.messages.len() as u32);
            }
        }
        self.scanned = store.messages.len();
    }

    /// Position of a message in the view.
    pub fn position_of(&self, message: u32) -> Option<usize> {
        self.rows.binary_search(&message).ok()
    }
}

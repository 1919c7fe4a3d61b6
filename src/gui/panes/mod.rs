//! One file per pane. Each `*_ui` function gets a `model::Cx` (read access to the shared
//! `Model` and the command queue) and `&mut` only to its own state; it draws and pushes
//! commands, and never starts threads, opens files or acts on a live session.

pub mod anatomy;
pub mod app_rtt;
pub mod builder;
pub mod capture;
pub mod client;
pub mod connections;
pub mod detail;
pub mod findings;
pub mod follow;
pub mod handshake;
pub mod lower;
pub mod messages;
pub mod plot_axes;
pub mod plots;
pub mod probe;
pub mod reference;
pub mod scenarios;
pub mod status_bar;
pub mod timeline;
pub mod tls_keys;
pub mod top_bar;

/// Where the app keeps the area windows may cover (below the menu and filter bars, above the
/// status bar), recorded each frame once the bars are drawn.
fn window_area_id() -> egui::Id {
    egui::Id::unique("framescope-window-area")
}

/// Records the area below the bars for `window` (called by the app after drawing them).
pub fn set_window_area(ctx: &egui::Context, area: egui::Rect) {
    ctx.data_mut(|d| d.insert_temp(window_area_id(), area));
}

/// A window kept inside the area below the menu bar: dragged or opened, its title bar never
/// covers the menus (the window would otherwise open at the screen's top left).
pub fn window<'a>(ctx: &egui::Context, title: impl Into<egui::WidgetText>) -> egui::Window<'a> {
    let area = ctx
        .data(|d| d.get_temp::<egui::Rect>(window_area_id()))
        .unwrap_or_else(|| ctx.content_rect());
    egui::Window::new(title).constrain_to(area)
}

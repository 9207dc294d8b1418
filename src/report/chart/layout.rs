//! Chart layout that plotters does not do for us: a legend below the plot
//! (never over the data), short strategy keys at the ends of lines spread
//! apart so they do not overprint, and an f64 axis with ticks only at
//! chosen positions and our own labels.
//!
//! Everything is integer pixels computed from the input alone, so charts
//! stay byte-identical for identical input.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every chart, pixels.
pub const WIDTH: u32 = 960;
/// Height of the plot part (caption, axes, data), pixels.
pub const PLOT_HEIGHT: u32 = 520;
/// Legend text.
pub const LEGEND_FONT: (&str, u32) = ("sans-serif", 13);
/// Height of one legend row, pixels.
const ROW: u32 = 20;
/// Estimated width of one character of [`LEGEND_FONT`] (no font files: the
/// viewer lays the text out; this errs wide).
const CHAR_W: u32 = 8;
/// Space for a legend entry's swatch and key (`S12`) before its label.
const ENTRY_LEAD: u32 = 70;
/// Smallest vertical distance between two line-end keys, pixels.
pub const KEY_GAP: i32 = 14;
/// Width of the column right of the plot where line-end keys go.
pub const KEY_COLUMN: u32 = 56;

/// One legend entry: colour, key and full label.
#[derive(Clone, Debug)]
pub struct Entry {
    pub color: RGBColor,
    pub key: String,
    pub label: String,
    /// Drawn as a filled box (shaded areas) rather than a line.
    pub area: bool,
}

/// How the legend's entries are arranged below the plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegendGrid {
    pub columns: u32,
    pub rows: u32,
    pub column_width: u32,
}

impl LegendGrid {
    /// Columns as many as fit the longest label (at most 3), filled column
    /// by column.
    pub fn for_entries(entries: &[Entry]) -> LegendGrid {
        let longest = entries.iter().map(|e| e.label.chars().count() as u32).max().unwrap_or(0);
        let column_width = ENTRY_LEAD + longest * CHAR_W + 16;
        let columns = ((WIDTH - 32) / column_width.max(1)).clamp(1, 3).min(entries.len().max(1) as u32);
        let rows = (entries.len() as u32).div_ceil(columns);
        LegendGrid { columns, rows, column_width }
    }

    /// Height of the legend part below the plot.
    pub fn height(&self) -> u32 {
        if self.rows == 0 { 0 } else { 16 + self.rows * ROW }
    }

    /// Top-left corner of entry `i`, relative to the legend part.
    pub fn cell(&self, i: usize) -> (i32, i32) {
        let (row, col) = (i as u32 % self.rows.max(1), i as u32 / self.rows.max(1));
        ((16 + col * self.column_width) as i32, (8 + row * ROW) as i32)
    }
}

/// Draws `entries` into `area` (the part below the plot).
pub fn draw_legend(area: &DrawingArea<SVGBackend<'_>, Shift>, entries: &[Entry]) -> Result<(), String> {
    let grid = LegendGrid::for_entries(entries);
    let text = TextStyle::from(LEGEND_FONT).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let (x, y) = grid.cell(i);
        let mid = y + ROW as i32 / 2;
        let swatch: DynElement<'_, _, _> = if e.area {
            Rectangle::new([(x, mid - 6), (x + 22, mid + 6)], e.color.mix(0.3).filled()).into_dyn()
        } else {
            PathElement::new(vec![(x, mid), (x + 22, mid)], e.color.stroke_width(3)).into_dyn()
        };
        area.draw(&swatch).map_err(|e| e.to_string())?;
        if !e.key.is_empty() {
            area.draw(&Text::new(e.key.clone(), (x + 28, mid), text.clone())).map_err(|e| e.to_string())?;
        }
        let lx = if e.key.is_empty() { x + 28 } else { x + ENTRY_LEAD as i32 - 8 };
        area.draw(&Text::new(e.label.clone(), (lx, mid), text.clone())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Vertical positions for labels wanted at `ys` (pixels), at least `gap`
/// apart and within `lo..=hi`, each as close to its wish as that allows.
/// Returned in the input's order.
pub fn spread(ys: &[i32], gap: i32, lo: i32, hi: i32) -> Vec<i32> {
    let mut order: Vec<usize> = (0..ys.len()).collect();
    order.sort_by_key(|&i| (ys[i], i));
    let mut placed: Vec<i32> = order.iter().map(|&i| ys[i].clamp(lo, hi)).collect();
    for k in 1..placed.len() {
        placed[k] = placed[k].max(placed[k - 1] + gap);
    }
    // Pushed past the bottom: shift up from the end, keeping the gaps.
    let n = placed.len();
    if n > 0 && placed[n - 1] > hi {
        placed[n - 1] = hi;
        for k in (0..n - 1).rev() {
            placed[k] = placed[k].min(placed[k + 1] - gap);
        }
    }
    let mut out = vec![0; ys.len()];
    for (k, &i) in order.iter().enumerate() {
        out[i] = placed[k];
    }
    out
}

/// Draws each key (`S1`, ...) in the column right of the plot, at its
/// line's end spread by [`spread`], with a thin leader from the line end:
/// level to the plot's right edge, then to the key.
/// `ends` are backend pixel positions of the lines' last points.
pub fn draw_end_keys(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    plot_right: i32,
    plot_y: Range<i32>,
    ends: &[(RGBColor, String, (i32, i32))],
) -> Result<(), String> {
    let ys: Vec<i32> = ends.iter().map(|(_, _, (_, y))| *y).collect();
    let placed = spread(&ys, KEY_GAP, plot_y.start + KEY_GAP / 2, plot_y.end - KEY_GAP / 2);
    let text = TextStyle::from(LEGEND_FONT).pos(Pos::new(HPos::Left, VPos::Center));
    for ((color, key, (x, y)), &ky) in ends.iter().zip(&placed) {
        // Level from the line's end to the plot's edge, then a short
        // connector inside the key column: leaders never cross the data.
        let leader =
            PathElement::new(vec![(*x, *y), (plot_right, *y), (plot_right + 12, ky)], color.mix(0.5).stroke_width(1));
        root.draw(&leader).map_err(|e| e.to_string())?;
        root.draw(&Text::new(key.clone(), (plot_right + 15, ky), text.clone().color(color)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A continuous f64 axis whose ticks sit only at `keys` (plotters'
/// `WithKeyPoints` over f64 cannot take a custom label formatter).
#[derive(Clone)]
pub struct KeyedAxis {
    inner: RangedCoordf64,
    keys: Vec<f64>,
}

impl std::fmt::Debug for KeyedAxis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedAxis").field("range", &self.inner.range()).field("keys", &self.keys).finish()
    }
}

impl KeyedAxis {
    pub fn new(range: Range<f64>, keys: Vec<f64>) -> KeyedAxis {
        KeyedAxis { inner: range.into(), keys }
    }
}

impl Ranged for KeyedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.keys.clone()
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_order_gap_and_bounds() {
        // Twelve keys wanted at the same height: stacked 14 px apart.
        let placed = spread(&[100; 12], 14, 0, 500);
        for w in placed.windows(2) {
            assert_eq!(w[1] - w[0], 14);
        }
        assert_eq!(placed[0], 100);
        // Near the bottom: pushed up, still apart and inside.
        let placed = spread(&[495, 490, 500], 14, 0, 500);
        let mut sorted = placed.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![472, 486, 500]);
        // Input order kept: the lowest wish gets the lowest slot.
        assert_eq!(placed, vec![486, 472, 500]);
        // Far apart already: untouched.
        assert_eq!(spread(&[10, 200, 50], 14, 0, 500), vec![10, 200, 50]);
        assert!(spread(&[], 14, 0, 10).is_empty());
    }

    #[test]
    fn legend_grid_fits_twelve_long_labels_below_the_plot() {
        let entry =
            |i: usize, label: &str| Entry { color: BLACK, key: format!("S{i}"), label: label.to_owned(), area: false };
        let short: Vec<Entry> = (1..=12).map(|i| entry(i, "retry=none")).collect();
        let g = LegendGrid::for_entries(&short);
        assert_eq!((g.columns, g.rows), (3, 4));
        let long: Vec<Entry> = (1..=12)
            .map(|i| entry(i, "fanout=quorum,retry=exponential_full_jitter,supervision=one_for_one_backoff"))
            .collect();
        let g = LegendGrid::for_entries(&long);
        assert_eq!((g.columns, g.rows), (1, 12));
        assert_eq!(g.height(), 16 + 12 * 20);
        // Cells never overlap: distinct rows within a column.
        let cells: Vec<(i32, i32)> = (0..12).map(|i| g.cell(i)).collect();
        for (i, a) in cells.iter().enumerate() {
            for b in &cells[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}

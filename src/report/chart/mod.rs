//! SVG charts, drawn with `plotters`' SVG backend into a `String`.
//!
//! No font files are needed: without plotters' `ttf` feature text layout is
//! estimated and the SVG backend emits plain `<text>` elements that the
//! viewer renders with its own fonts.
//!
//! Each line carries its strategy's short key (`S1`, `S2`, ...) at its end,
//! spread apart so keys never overprint; the legend, below the plot (never
//! over the data), maps keys to full labels. Each renderer returns the SVG
//! text, or the plotters error as a message.

pub mod layout;

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::analysis::Analysis;
use super::format::svg_text;
use layout::{Entry, KEY_COLUMN, KeyedAxis, LegendGrid, PLOT_HEIGHT, WIDTH, draw_end_keys, draw_legend};

const CAPTION_FONT: (&str, u32) = ("sans-serif", 22);
const LABEL_FONT: (&str, u32) = ("sans-serif", 14);
/// Scheduled fault windows: a light red behind the lines.
const FAULT_SHADE: RGBColor = RGBColor(220, 50, 47);
const FAULT_ALPHA: f64 = 0.15;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Colour of the `i`-th strategy (stable across charts).
fn color(i: usize) -> RGBColor {
    let RGBAColor(r, g, b, _) = Palette99::pick(i).to_rgba();
    RGBColor(r, g, b)
}

/// One legend entry per strategy, plus the fault shading when shown.
fn entries(a: &Analysis<'_>, faults: bool) -> Vec<Entry> {
    let mut v: Vec<Entry> = a
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let base = if a.baseline == Some(i) && a.labels.len() > 1 { " (baseline)" } else { "" };
            Entry { color: color(i), key: a.keys[i].clone(), label: svg_text(&format!("{l}{base}")), area: false }
        })
        .collect();
    if faults && !a.cmp.fault_windows.is_empty() {
        let names: Vec<&str> = a.cmp.fault_windows.iter().map(|w| w.label.as_str()).collect();
        let mut label = format!("scheduled faults: {}", names.join(", "));
        if label.chars().count() > 90 {
            label = format!("scheduled faults ({})", names.len());
        }
        v.push(Entry { color: FAULT_SHADE, key: String::new(), label: svg_text(&label), area: true });
    }
    v
}

/// An SVG of the plot part and the legend below it: `draw` gets the whole
/// canvas and the plot part.
fn render(entries: &[Entry], draw: impl FnOnce(&Area<'_>, &Area<'_>) -> Result<(), String>) -> Result<String, String> {
    let grid = LegendGrid::for_entries(entries);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, PLOT_HEIGHT + grid.height())).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot, legend) = root.split_vertically(PLOT_HEIGHT);
        draw(&root, &plot)?;
        draw_legend(&legend, entries)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// An upper axis bound that leaves headroom and is never degenerate.
fn upper(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 { max * 1.12 } else { 1.0 }
}

/// A note in the middle of the plot (e.g. "no data").
fn note(plot: &Area<'_>, text: &str) -> Result<(), String> {
    let (w, h) = plot.dim_in_pixel();
    let style = TextStyle::from(LABEL_FONT).pos(Pos::new(HPos::Center, VPos::Center));
    plot.draw(&Text::new(text.to_owned(), (w as i32 / 2, h as i32 / 2), style)).map_err(err)
}

/// The percentile axis of the latency chart: x = log10(1 / (1 - p)).
const PERCENTILE_TICKS: [&str; 5] = ["0%", "90%", "99%", "99.9%", "99.99%"];
/// Points per decade of 1 / (1 - p).
const STEPS_PER_DECADE: u32 = 50;

/// The percentile curve of a histogram: (x, ms) with x = log10(1/(1-p)),
/// from p = 0 up to the last percentile the sample supports (one request
/// beyond it: 1/(1-p) = count), at most p99.99.
pub fn percentile_curve(h: &crate::hist::LatencyHistogram) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let x_end = libm::log10(h.len() as f64).min(4.0);
    let steps = (x_end * f64::from(STEPS_PER_DECADE)).floor() as u32;
    let mut xs: Vec<f64> = (0..=steps).map(|k| f64::from(k) / f64::from(STEPS_PER_DECADE)).collect();
    if xs.last().is_some_and(|&x| x < x_end) {
        xs.push(x_end);
    }
    xs.into_iter()
        .map(|x| {
            let q = 1.0 - libm::pow(10.0, -x);
            (x, h.value_at_quantile(q) as f64 / 1_000.0)
        })
        .collect()
}

/// `latency.svg`: HdrHistogram's percentile distribution of each
/// strategy's pooled histogram (every request of every seed used): x is
/// the percentile on a log scale of 1/(1-p), so the tail is spread out;
/// y is latency. Each line ends at the last percentile its sample supports.
pub fn latency(a: &Analysis<'_>) -> Result<String, String> {
    let curves: Vec<Vec<(f64, f64)>> =
        a.strategies.iter().map(|s| s.pooled.histogram.as_ref().map(percentile_curve).unwrap_or_default()).collect();
    let x_max = curves.iter().filter_map(|c| c.last().map(|p| p.0)).fold(0.0, f64::max).ceil().max(1.0);
    let y_max = curves.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
    let legend = entries(a, false);
    render(&legend, |root, plot| {
        let caption =
            format!("Latency by percentile, pooled over {} seeds: {}", a.seeds_used.len(), svg_text(&a.cmp.scenario));
        let keys: Vec<f64> = (0..=x_max as usize).map(|k| k as f64).collect();
        let mut chart = ChartBuilder::on(plot)
            .caption(caption, CAPTION_FONT)
            .margin(16)
            .margin_right(16 + KEY_COLUMN)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(KeyedAxis::new(0.0..x_max, keys), 0f64..upper(y_max))
            .map_err(err)?;
        let x_fmt = |x: &f64| PERCENTILE_TICKS.get(x.round() as usize).map_or_else(String::new, |t| (*t).to_owned());
        chart
            .configure_mesh()
            .x_desc("percentile (log scale of 1/(1-p))")
            .y_desc("latency (ms)")
            .x_label_formatter(&x_fmt)
            .label_style(LABEL_FONT)
            .draw()
            .map_err(err)?;
        if curves.iter().all(Vec::is_empty) {
            return note(plot, "no latency histograms in these runs");
        }
        let mut ends = Vec::new();
        for (i, curve) in curves.iter().enumerate() {
            let Some(&last) = curve.last() else { continue };
            let c = color(i);
            chart.draw_series(LineSeries::new(curve.iter().copied(), c.stroke_width(2))).map_err(err)?;
            ends.push((c, a.keys[i].clone(), chart.backend_coord(&last)));
        }
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        draw_end_keys(root, xr.end, yr, &ends)
    })
}

/// Mean of the per-second timelines; a run that ended early contributes 0
/// to the seconds after its end.
pub fn mean_timeline(timelines: &[&[u32]]) -> Vec<f64> {
    let len = timelines.iter().map(|t| t.len()).max().unwrap_or(0);
    let n = timelines.len().max(1) as f64;
    (0..len)
        .map(|b| {
            let sum: u64 = timelines.iter().map(|t| u64::from(t.get(b).copied().unwrap_or(0))).sum();
            sum as f64 / n
        })
        .collect()
}

/// Shades the scheduled fault windows from 0 to `top` (an instant fault,
/// such as a crash, as a thin band).
fn shade_faults<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    a: &Analysis<'_>,
    top: f64,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for w in &a.cmp.fault_windows {
        let end = if w.end_s > w.start_s { w.end_s } else { w.start_s + 0.5 };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(w.start_s, 0.0), (end, top)],
                FAULT_SHADE.mix(FAULT_ALPHA).filled(),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// `throughput.svg`: succeeded requests per simulated second, averaged
/// over the seeds used, one line per strategy, fault windows shaded.
pub fn throughput(a: &Analysis<'_>) -> Result<String, String> {
    let lines: Vec<Vec<f64>> = a
        .strategies
        .iter()
        .map(|s| {
            let t: Vec<&[u32]> = s.runs.iter().map(|r| r.throughput_timeline.as_slice()).collect();
            mean_timeline(&t)
        })
        .collect();
    let x_max = lines.iter().map(Vec::len).max().unwrap_or(0);
    let y_max = lines.iter().flatten().copied().fold(0.0, f64::max);
    let legend = entries(a, true);
    render(&legend, |root, plot| {
        let mut chart = ChartBuilder::on(plot)
            .caption(
                format!("Throughput over time: {} (mean over {} seeds)", svg_text(&a.cmp.scenario), a.seeds_used.len()),
                CAPTION_FONT,
            )
            .margin(16)
            .margin_right(16 + KEY_COLUMN)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..(x_max.saturating_sub(1).max(1) as f64), 0f64..upper(y_max))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("simulated time (s)")
            .y_desc("succeeded requests / s")
            .label_style(LABEL_FONT)
            .draw()
            .map_err(err)?;
        shade_faults(&mut chart, a, upper(y_max))?;
        let mut ends = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let c = color(i);
            let pts: Vec<(f64, f64)> = line.iter().enumerate().map(|(b, &v)| (b as f64, v)).collect();
            chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2))).map_err(err)?;
            if let Some(last) = pts.last() {
                ends.push((c, a.keys[i].clone(), chart.backend_coord(last)));
            }
        }
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        draw_end_keys(root, xr.end, yr, &ends)
    })
}

/// Bins of the success chart with fewer ended requests (pooled over the
/// seeds) than this are left out: a rate of 0% or 100% from one or two
/// requests (the stragglers after the arrival window) says nothing.
pub const MIN_ENDED_PER_BIN: u64 = 10;

/// The success chart merges consecutive timeline intervals into bins so
/// that a bin holds about this many ended requests on average (per
/// strategy, pooled over the seeds): a rate from a handful of requests is
/// noise.
pub const TARGET_ENDED_PER_BIN: u64 = 40;

/// Ended requests per timeline interval start (whole milliseconds, so runs
/// agree), pooled over `runs`: (succeeded, succeeded + failed).
fn ended_by_start(runs: &[&crate::summary::RunSummary]) -> BTreeMap<i64, (u64, u64)> {
    let mut by_start: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for r in runs {
        for iv in &r.timeline {
            let e = by_start.entry(libm::round(iv.t_s * 1_000.0) as i64).or_insert((0, 0));
            e.0 += iv.succeeded;
            e.1 += iv.succeeded + iv.failed;
        }
    }
    by_start
}

/// The success chart's bin width in milliseconds: a whole number of
/// timeline intervals (the narrowest step between interval starts, 1 s
/// without one), enough for [`TARGET_ENDED_PER_BIN`] ended requests per bin
/// on average over the strategies.
pub fn success_bin_ms(strategies: &[&[&crate::summary::RunSummary]]) -> i64 {
    let pooled: Vec<BTreeMap<i64, (u64, u64)>> = strategies.iter().map(|runs| ended_by_start(runs)).collect();
    let step = pooled
        .iter()
        .flat_map(|m| m.keys().zip(m.keys().skip(1)).map(|(a, b)| b - a))
        .filter(|&d| d > 0)
        .min()
        .unwrap_or(1_000);
    let intervals: u64 = pooled.iter().map(|m| m.len() as u64).sum();
    let ended: u64 = pooled.iter().flat_map(|m| m.values().map(|v| v.1)).sum();
    if ended == 0 || intervals == 0 {
        return step;
    }
    let k = (TARGET_ENDED_PER_BIN * intervals).div_ceil(ended).max(1);
    step * k as i64
}

/// Success rate over time, pooled over `runs`: for each bin of `bin_ms`
/// (from 0), summed succeeded / summed (succeeded + failed) of the requests
/// that ended in its intervals, at the bin's start (seconds). Bins where
/// fewer than `min_ended` requests ended are left out (a gap, not a zero).
pub fn pooled_success_timeline(runs: &[&crate::summary::RunSummary], bin_ms: i64, min_ended: u64) -> Vec<(f64, f64)> {
    let mut bins: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for (start, (ok, ended)) in ended_by_start(runs) {
        let e = bins.entry(start.div_euclid(bin_ms.max(1))).or_insert((0, 0));
        e.0 += ok;
        e.1 += ended;
    }
    bins.into_iter()
        .filter(|&(_, (_, ended))| ended > 0 && ended >= min_ended)
        .map(|(bin, (ok, ended))| ((bin * bin_ms) as f64 / 1_000.0, ok as f64 / ended as f64))
        .collect()
}

/// Milliseconds as seconds without trailing zeros (`1000` -> `1`, `2500` -> `2.5`).
fn fixed_s(ms: i64) -> String {
    let text = format!("{:.3}", ms as f64 / 1_000.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `line` cut where an interval is missing (a gap wider than 1.5 times the
/// narrowest step), so a gap is drawn as a gap rather than bridged.
pub fn segments(line: &[(f64, f64)]) -> Vec<&[(f64, f64)]> {
    let step = line.windows(2).map(|w| w[1].0 - w[0].0).fold(f64::INFINITY, f64::min);
    let mut out = Vec::new();
    let mut start = 0;
    for k in 1..line.len() {
        if line[k].0 - line[k - 1].0 > 1.5 * step {
            out.push(&line[start..k]);
            start = k;
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// `success.svg`: success rate over simulated time from the runs'
/// timelines, pooled over the seeds used per interval, fault windows
/// shaded.
pub fn success(a: &Analysis<'_>) -> Result<String, String> {
    let runs: Vec<&[&crate::summary::RunSummary]> = a.strategies.iter().map(|s| s.runs.as_slice()).collect();
    let bin_ms = success_bin_ms(&runs);
    let lines: Vec<Vec<(f64, f64)>> =
        runs.iter().map(|r| pooled_success_timeline(r, bin_ms, MIN_ENDED_PER_BIN)).collect();
    let x_max = lines.iter().flatten().map(|p| p.0).fold(0.0, f64::max);
    let x_max = a.cmp.fault_windows.iter().map(|w| w.end_s).fold(x_max, f64::max).max(1.0);
    let legend = entries(a, true);
    render(&legend, |root, plot| {
        let mut chart = ChartBuilder::on(plot)
            .caption(
                format!(
                    "Success rate over time: {} (pooled over {} seeds)",
                    svg_text(&a.cmp.scenario),
                    a.seeds_used.len()
                ),
                CAPTION_FONT,
            )
            .margin(16)
            .margin_right(16 + KEY_COLUMN)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_max, 0f64..1.05f64)
            .map_err(err)?;
        let y_fmt = |y: &f64| format!("{:.0}%", y * 100.0);
        chart
            .configure_mesh()
            .x_desc(format!("simulated time (s), start of {} s bins", fixed_s(bin_ms)))
            .y_desc(format!("succeeded / ended in the bin (if >= {MIN_ENDED_PER_BIN})"))
            .y_label_formatter(&y_fmt)
            .label_style(LABEL_FONT)
            .draw()
            .map_err(err)?;
        shade_faults(&mut chart, a, 1.05)?;
        if lines.iter().all(Vec::is_empty) {
            return note(plot, "no timeline in these runs");
        }
        let mut ends = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let c = color(i);
            for part in segments(line) {
                if let [only] = part {
                    chart.draw_series(std::iter::once(Circle::new(*only, 2, c.filled()))).map_err(err)?;
                } else {
                    chart.draw_series(LineSeries::new(part.iter().copied(), c.stroke_width(2))).map_err(err)?;
                }
            }
            if let Some(last) = line.last() {
                ends.push((c, a.keys[i].clone(), chart.backend_coord(last)));
            }
        }
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        draw_end_keys(root, xr.end, yr, &ends)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist;
    use crate::report::test_support::{run, sample_comparison, strategy};
    use crate::report::{Comparison, StrategyRuns};

    fn all(a: &Analysis<'_>) -> [(&'static str, String); 3] {
        [("latency", latency(a).unwrap()), ("throughput", throughput(a).unwrap()), ("success", success(a).unwrap())]
    }

    #[test]
    fn charts_are_svg_with_keys_and_labels() {
        let cmp = sample_comparison();
        let a = Analysis::of(&cmp);
        for (name, svg) in all(&a) {
            assert!(svg.starts_with("<svg"), "{name}");
            assert!(svg.trim_end().ends_with("</svg>"), "{name}");
            // plotters puts the text on its own line inside <text>.
            assert!(svg.contains("\nretry=none (baseline)\n</text>"), "{name}");
            assert!(svg.contains("\nretry=fixed\n</text>"), "{name}");
            assert!(svg.contains("\nS1\n</text>") && svg.contains("\nS2\n</text>"), "{name}");
        }
        let lat = latency(&a).unwrap();
        for tick in ["0%", "90%", "99%"] {
            assert!(lat.contains(&format!("\n{tick}\n</text>")), "{tick}");
        }
        assert!(success(&a).unwrap().contains("scheduled faults: partition"));
    }

    #[test]
    fn user_text_in_svg_is_escaped_and_valid_xml() {
        let mut cmp = sample_comparison();
        cmp.scenario = "<script>alert(1)</script> & \"q\" \u{1b}[31m".into();
        cmp.results[0].strategy = strategy(&[("retry", "<b>x</b>\u{0}")]);
        cmp.fault_windows[0].label = "<i>partition</i>".into();
        let a = Analysis::of(&cmp);
        for (name, svg) in all(&a) {
            for bad in ["<script", "<b>", "<i>", "\u{1b}", "\u{0}"] {
                assert!(!svg.contains(bad), "{name}: {bad:?}");
            }
            assert!(svg.contains("&lt;b&gt;x&lt;/b&gt;"), "{name}");
        }
        assert!(latency(&a).unwrap().contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"));
        assert!(success(&a).unwrap().contains("&lt;i&gt;partition&lt;/i&gt;"));
    }

    #[test]
    fn percentile_curve_ends_where_the_sample_does() {
        let mut h = hist::new_latency_histogram();
        for ms in 1..=100u64 {
            hist::record_ns(&mut h, ms * 1_000_000);
        }
        let c = percentile_curve(&h);
        // 100 requests support up to p99: x = log10(100) = 2.
        assert_eq!(c.first().unwrap().0, 0.0);
        assert_eq!(c.last().unwrap().0, 2.0);
        assert_eq!(c.len(), 101);
        // p90 (x = 1) is 90 ms, within 3 significant figures; monotone.
        let p90 = c.iter().find(|p| p.0 == 1.0).unwrap().1;
        assert!((p90 - 90.0).abs() < 0.1, "{p90}");
        assert!(c.windows(2).all(|w| w[0].1 <= w[1].1));
        assert!(percentile_curve(&hist::new_latency_histogram()).is_empty());
    }

    #[test]
    fn success_timeline_pools_counts_per_interval() {
        let s = strategy(&[("retry", "none")]);
        let (mut a, mut b) = (run(&s, 1, 10.0, 100), run(&s, 2, 10.0, 100));
        for iv in a.timeline.iter_mut().chain(b.timeline.iter_mut()) {
            (iv.succeeded, iv.failed) = (0, 0);
        }
        // Interval 0: 3 of 4 and 1 of 4 -> 4 of 8; interval 2 s: 1 of 1 and
        // nothing -> 1; the rest ended nothing: gaps.
        (a.timeline[0].succeeded, a.timeline[0].failed) = (3, 1);
        (b.timeline[0].succeeded, b.timeline[0].failed) = (1, 3);
        a.timeline[1].succeeded = 1;
        assert_eq!(pooled_success_timeline(&[&a, &b], 2_000, 1), vec![(0.0, 0.5), (2.0, 1.0)]);
        // Bins of two intervals: 0-4 s has 5 of 9.
        assert_eq!(pooled_success_timeline(&[&a, &b], 4_000, 1), vec![(0.0, 5.0 / 9.0)]);
        // The bin width: intervals 2 s apart, 9 requests over 2 strategies x
        // 5 intervals: 40 * 10 / 9 -> 45 intervals per bin.
        assert_eq!(success_bin_ms(&[&[&a], &[&b]]), 45 * 2_000);
        // The sample: 100 ended per run in 5 intervals, 3 seeds: 60 per
        // interval, one interval per bin.
        let cmp = sample_comparison();
        let an = Analysis::of(&cmp);
        let runs: Vec<&[&crate::summary::RunSummary]> = an.strategies.iter().map(|s| s.runs.as_slice()).collect();
        assert_eq!(success_bin_ms(&runs), 2_000);
        assert_eq!(
            (fixed_s(1_000), fixed_s(2_500), fixed_s(90_000)),
            ("1".to_owned(), "2.5".to_owned(), "90".to_owned())
        );
        let line = [(0.0, 1.0), (1.0, 1.0), (3.0, 0.5), (4.0, 0.5)];
        assert_eq!(segments(&line), vec![&line[..2], &line[2..]]);
        assert_eq!(segments(&line[..1]), vec![&line[..1]]);
        assert!(segments(&[]).is_empty());
        // Too few ended requests: left out.
        assert_eq!(pooled_success_timeline(&[&a, &b], 2_000, 2), vec![(0.0, 0.5)]);
    }

    #[test]
    fn twelve_strategies_keep_keys_apart_and_the_legend_below() {
        let values = ["none", "fixed", "exponential", "exponential_full_jitter"];
        let sups = ["one_for_one", "one_for_all", "rest_for_one"];
        let mut results = Vec::new();
        for sup in sups {
            for v in values {
                let st = strategy(&[("retry", v), ("supervision", sup)]);
                // Identical runs: every line ends at the same point.
                results
                    .push(StrategyRuns { runs: (1..=3).map(|seed| run(&st, seed, 100.0, 95)).collect(), strategy: st });
            }
        }
        let cmp = Comparison { scenario: "twelve".into(), seeds: vec![1, 2, 3], results, ..sample_comparison() };
        let a = Analysis::of(&cmp);
        for (name, svg) in all(&a) {
            for i in 1..=12 {
                assert!(svg.contains(&format!("\nS{i}\n</text>")), "{name}: S{i}");
            }
            assert!(svg.contains("\nretry=exponential_full_jitter,supervision=rest_for_one\n</text>"), "{name}");
            // Keys: 12 distinct y positions at least 14 px apart.
            let mut ys = text_ys(&svg, |t| t.starts_with('S') && t[1..].parse::<u32>().is_ok());
            ys.sort_unstable();
            assert_eq!(ys.len(), 12, "{name}");
            assert!(ys.windows(2).all(|w| w[1] - w[0] >= 14), "{name}: {ys:?}");
            // Full labels: all below the plot part.
            let labels = text_ys(&svg, |t| t.starts_with("retry="));
            assert_eq!(labels.len(), 12, "{name}");
            assert!(labels.iter().all(|&y| y > PLOT_HEIGHT as i32), "{name}: {labels:?}");
            // Deterministic.
            let again = match name {
                "latency" => latency(&a),
                "throughput" => throughput(&a),
                _ => success(&a),
            };
            assert_eq!(svg, again.unwrap(), "{name}");
        }
    }

    /// The y coordinates of `<text>` elements whose content matches. Keys
    /// in the legend are left out (they share their entry's row with its
    /// label): only those right of the plot (x > 800) count as line keys
    /// when the content is a key.
    fn text_ys(svg: &str, wanted: impl Fn(&str) -> bool) -> Vec<i32> {
        let mut out = Vec::new();
        for part in svg.split("<text").skip(1) {
            let (attrs, rest) = part.split_once('>').unwrap();
            let content = rest.split("</text>").next().unwrap().trim();
            if !wanted(content) {
                continue;
            }
            let num = |name: &str| -> i32 {
                let v = attrs.split(&format!(" {name}=\"")).nth(1).unwrap().split('"').next().unwrap();
                v.parse::<f64>().unwrap() as i32
            };
            let is_key = content.starts_with('S') && !content.contains('=');
            if is_key && num("x") < 800 {
                continue;
            }
            out.push(num("y"));
        }
        out
    }

    #[test]
    fn timelines_average_with_zero_padding() {
        let a: &[u32] = &[2, 4, 6];
        let b: &[u32] = &[4];
        assert_eq!(mean_timeline(&[a, b]), vec![3.0, 2.0, 3.0]);
        assert!(mean_timeline(&[]).is_empty());
    }

    #[test]
    fn charts_without_data_say_so() {
        let s = strategy(&[("retry", "none")]);
        let mut r = run(&s, 1, 10.0, 50);
        r.histograms = Default::default();
        r.timeline.clear();
        let cmp = Comparison {
            scenario: "bare".into(),
            seeds: vec![1],
            results: vec![StrategyRuns { strategy: s, runs: vec![r] }],
            ..Comparison::default()
        };
        let a = Analysis::of(&cmp);
        assert!(latency(&a).unwrap().contains("no latency histograms in these runs"));
        assert!(success(&a).unwrap().contains("no timeline in these runs"));
    }
}

//! SVG charts, drawn with `plotters`' SVG backend into a `String`.
//!
//! No font files are needed: without plotters' `ttf` feature text layout is
//! estimated and the SVG backend emits plain `<text>` elements that the
//! viewer renders with its own fonts.
//!
//! Each renderer returns the SVG text, or the plotters error as a message.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::metrics::success_rate;
use super::stats::Summary;
use super::{Comparison, strategy_label};

const SIZE: (u32, u32) = (960, 560);
const CAPTION_FONT: (&str, u32) = ("sans-serif", 22);
const LABEL_FONT: (&str, u32) = ("sans-serif", 14);
/// Fault windows in the throughput chart: a light red behind the lines.
const FAULT_SHADE: RGBAColor = RGBAColor(220, 50, 47, 0.15);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Colour of the `i`-th strategy (stable across charts).
fn color(i: usize) -> RGBColor {
    let RGBAColor(r, g, b, _) = Palette99::pick(i).to_rgba();
    RGBColor(r, g, b)
}

fn render(draw: impl FnOnce(&Area<'_>) -> Result<(), String>) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// An upper axis bound that leaves headroom and is never degenerate.
fn upper(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 { max * 1.12 } else { 1.0 }
}

/// Horizontal offset of strategy `i` of `m` around a category centre, so
/// error bars of different strategies do not overlap.
fn offset(i: usize, m: usize) -> f64 {
    let w = (0.6 / m.max(1) as f64).min(0.08);
    (i as f64 - (m as f64 - 1.0) / 2.0) * w
}

/// A continuous f64 axis whose ticks sit only at the given category
/// positions (plotters' `WithKeyPoints` over f64 cannot take a custom label
/// formatter). Categories are drawn at integers; series may be offset a
/// little either side.
struct Categories {
    inner: RangedCoordf64,
    keys: Vec<f64>,
}

impl Categories {
    fn new(count: usize) -> Categories {
        let hi = count.max(1) as f64 - 0.4;
        Categories { inner: (-0.6..hi).into(), keys: (0..count).map(|i| i as f64).collect() }
    }
}

impl Ranged for Categories {
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

type Percentile = (&'static str, fn(&crate::summary::LatencyMs) -> f64);
const PERCENTILES: [Percentile; 4] =
    [("p50", |l| l.p50), ("p90", |l| l.p90), ("p99", |l| l.p99), ("p99.9", |l| l.p999)];

/// `latency.svg`: p50/p90/p99/p99.9 per strategy, mean across seeds with
/// 95% confidence intervals as error bars.
pub fn latency(cmp: &Comparison) -> Result<String, String> {
    // points[strategy][percentile]
    let points: Vec<Vec<Option<Summary>>> = cmp
        .results
        .iter()
        .map(|sr| {
            PERCENTILES
                .iter()
                .map(|(_, f)| {
                    let v: Vec<f64> = sr.runs.iter().map(|r| f(&r.latency_ms)).collect();
                    Summary::of(&v)
                })
                .collect()
        })
        .collect();
    let y_max = points.iter().flatten().flatten().map(|s| s.ci95_high.max(s.mean)).fold(0.0, f64::max);
    let m = cmp.results.len();

    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Latency percentiles: {} (mean across seeds, 95% CI)", cmp.scenario), CAPTION_FONT)
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(Categories::new(PERCENTILES.len()), 0f64..upper(y_max))
            .map_err(err)?;
        let x_fmt = |x: &f64| {
            let k = x.round();
            if (0.0..4.0).contains(&k) { PERCENTILES[k as usize].0.to_owned() } else { String::new() }
        };
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .x_label_formatter(&x_fmt)
            .label_style(LABEL_FONT)
            .draw()
            .map_err(err)?;

        for (i, (sr, pts)) in cmp.results.iter().zip(&points).enumerate() {
            let c = color(i);
            let dx = offset(i, m);
            let xy: Vec<(f64, Summary)> =
                pts.iter().enumerate().filter_map(|(k, s)| s.map(|s| (k as f64 + dx, s))).collect();
            chart
                .draw_series(LineSeries::new(xy.iter().map(|&(x, s)| (x, s.mean)), c.stroke_width(2)))
                .map_err(err)?
                .label(strategy_label(&sr.strategy))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            chart.draw_series(xy.iter().map(|&(x, s)| Circle::new((x, s.mean), 3, c.filled()))).map_err(err)?;
            // Error bars: a vertical line with caps, for real intervals only.
            let cap = 0.025;
            chart
                .draw_series(xy.iter().filter(|(_, s)| s.has_interval()).flat_map(|&(x, s)| {
                    [
                        PathElement::new(vec![(x, s.ci95_low), (x, s.ci95_high)], c.stroke_width(1)),
                        PathElement::new(vec![(x - cap, s.ci95_low), (x + cap, s.ci95_low)], c.stroke_width(1)),
                        PathElement::new(vec![(x - cap, s.ci95_high), (x + cap, s.ci95_high)], c.stroke_width(1)),
                    ]
                }))
                .map_err(err)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft, m)
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

/// `throughput.svg`: succeeded requests per simulated second, averaged
/// across seeds, one line per strategy.
pub fn throughput(cmp: &Comparison) -> Result<String, String> {
    let lines: Vec<Vec<f64>> = cmp
        .results
        .iter()
        .map(|sr| {
            let t: Vec<&[u32]> = sr.runs.iter().map(|r| r.throughput_timeline.as_slice()).collect();
            mean_timeline(&t)
        })
        .collect();
    let x_max = lines.iter().map(Vec::len).max().unwrap_or(0);
    let y_max = lines.iter().flatten().copied().fold(0.0, f64::max);
    let m = cmp.results.len();

    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Throughput over time: {} (mean across seeds)", cmp.scenario), CAPTION_FONT)
            .margin(16)
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
        // Scheduled fault windows, shaded behind the lines (an instant
        // fault, such as a crash, as a thin band).
        let top = upper(y_max);
        for w in &cmp.fault_windows {
            let end = if w.end_s > w.start_s { w.end_s } else { w.start_s + 0.5 };
            chart
                .draw_series(std::iter::once(Rectangle::new([(w.start_s, 0.0), (end, top)], FAULT_SHADE.filled())))
                .map_err(err)?;
        }
        for (i, (sr, line)) in cmp.results.iter().zip(&lines).enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(line.iter().enumerate().map(|(b, &v)| (b as f64, v)), c.stroke_width(2)))
                .map_err(err)?
                .label(strategy_label(&sr.strategy))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, m)
    })
}

/// `success.svg`: success rate (succeeded / arrived) per strategy, mean
/// across seeds with the 95% confidence interval.
pub fn success(cmp: &Comparison) -> Result<String, String> {
    let rates: Vec<Option<Summary>> = cmp
        .results
        .iter()
        .map(|sr| {
            let v: Vec<f64> = sr.runs.iter().filter_map(success_rate).collect();
            Summary::of(&v)
        })
        .collect();
    let labels: Vec<String> = cmp.results.iter().map(|sr| strategy_label(&sr.strategy)).collect();
    let m = labels.len();

    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Success rate: {} (mean across seeds, 95% CI)", cmp.scenario), CAPTION_FONT)
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(Categories::new(m), 0f64..1.1f64)
            .map_err(err)?;
        let x_fmt = |x: &f64| {
            let k = x.round();
            if k >= 0.0 && (k as usize) < m { labels[k as usize].clone() } else { String::new() }
        };
        let y_fmt = |y: &f64| format!("{:.0}%", y * 100.0);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("strategy")
            .y_desc("success rate")
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(LABEL_FONT)
            .draw()
            .map_err(err)?;
        for (i, (label, rate)) in labels.iter().zip(&rates).enumerate() {
            let c = color(i);
            let x = i as f64;
            let mean = rate.map_or(0.0, |s| s.mean);
            chart
                .draw_series(std::iter::once(Rectangle::new([(x - 0.3, 0.0), (x + 0.3, mean)], c.mix(0.8).filled())))
                .map_err(err)?
                .label(label.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
            let Some(s) = rate else { continue };
            if s.has_interval() {
                let (lo, hi) = (s.ci95_low.max(0.0), s.ci95_high.min(1.0));
                chart
                    .draw_series([
                        PathElement::new(vec![(x, lo), (x, hi)], BLACK.stroke_width(1)),
                        PathElement::new(vec![(x - 0.05, lo), (x + 0.05, lo)], BLACK.stroke_width(1)),
                        PathElement::new(vec![(x - 0.05, hi), (x + 0.05, hi)], BLACK.stroke_width(1)),
                    ])
                    .map_err(err)?;
            }
            let top = if s.has_interval() { s.ci95_high.min(1.0) } else { s.mean };
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{:.1}%", s.mean * 100.0),
                    (x - 0.1, top + 0.05),
                    LABEL_FONT,
                )))
                .map_err(err)?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, m)
    })
}

fn legend<'a, 'b: 'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
    series: usize,
) -> Result<(), String>
where
    X: Ranged,
    Y: Ranged,
{
    if series == 0 {
        return Ok(());
    }
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(LABEL_FONT)
        .draw()
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::sample_comparison;

    #[test]
    fn charts_are_svg_with_text() {
        let cmp = sample_comparison();
        for (name, svg) in [
            ("latency", latency(&cmp).unwrap()),
            ("throughput", throughput(&cmp).unwrap()),
            ("success", success(&cmp).unwrap()),
        ] {
            assert!(svg.starts_with("<svg"), "{name}");
            assert!(svg.trim_end().ends_with("</svg>"), "{name}");
            // Text renders without font files: captions and legend labels.
            assert!(svg.contains("<text"), "{name}");
            // plotters puts the text on its own line inside <text>.
            assert!(svg.contains("\nretry=none\n</text>"), "{name}");
            assert!(svg.contains("\nretry=fixed\n</text>"), "{name}");
        }
        assert!(latency(&cmp).unwrap().contains("\np99.9\n</text>"));
    }

    #[test]
    fn timelines_average_with_zero_padding() {
        let a: &[u32] = &[2, 4, 6];
        let b: &[u32] = &[4];
        assert_eq!(mean_timeline(&[a, b]), vec![3.0, 2.0, 3.0]);
        assert!(mean_timeline(&[]).is_empty());
    }
}

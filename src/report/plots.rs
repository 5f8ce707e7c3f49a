//! Histograms drawn as inline SVG with plotters: fixed bins over a robust range (values
//! outside it are counted, not drawn), log-scaled counts with empty bins left out.

use super::stats::quantile;
use plotters::prelude::*;

pub const BINS: usize = 60;
const SIZE: (u32, u32) = (440, 320);
const FONT: &str = "sans-serif";

/// One histogram to overlay: its legend label, colour, and finite values.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    pub values: &'a [f64],
}

impl<'a> Series<'a> {
    pub fn new(label: &'a str, color: RGBColor, values: &'a [f64]) -> Self {
        Series {
            label,
            color,
            values,
        }
    }
}

pub struct Plot {
    pub svg: String,
    pub lo: f64,
    pub hi: f64,
    /// Per series: values below and above the drawn range.
    pub outside: Vec<(usize, usize)>,
}

/// The range the bins cover: the 0.1%–99.9% quantiles with a 5% margin, or the full range
/// when those coincide, widened around a single value.
pub fn bin_range(sorted: &[f64]) -> (f64, f64) {
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return (-1.0, 1.0);
    };
    let (mut lo, mut hi) = (quantile(sorted, 0.001), quantile(sorted, 0.999));
    if hi <= lo {
        (lo, hi) = (min, max);
    }
    if hi <= lo {
        // One value: put it in the middle of the central bin.
        let half = if lo == 0.0 { 1.0 } else { lo.abs() * 1e-3 };
        let shift = half / BINS as f64;
        return (lo - half - shift, hi + half - shift);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

fn bin(values: &[f64], lo: f64, hi: f64) -> (Vec<usize>, usize, usize) {
    let (mut counts, mut under, mut over) = (vec![0; BINS], 0, 0);
    for &v in values {
        if v < lo {
            under += 1;
        } else if v > hi {
            over += 1;
        } else {
            let i = ((v - lo) / (hi - lo) * BINS as f64) as usize;
            counts[i.min(BINS - 1)] += 1;
        }
    }
    (counts, under, over)
}

/// A tick label with as many digits as the tick spacing needs, in scientific notation for
/// very small or very large magnitudes.
pub fn tick(v: f64, lo: f64, hi: f64) -> String {
    let step = (hi - lo) / 6.0;
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    let mag = lo.abs().max(hi.abs());
    let strip = |s: String| -> String {
        match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            None if s.contains('.') => s.trim_end_matches('0').trim_end_matches('.').into(),
            _ => s,
        }
    };
    if !(1e-2..1e4).contains(&mag) {
        let digits = (mag.log10().floor() - step.log10().floor() + 1.0).clamp(0.0, 6.0);
        strip(format!("{v:.*e}", digits as usize))
    } else {
        let decimals = (1.0 - step.log10().floor()).clamp(0.0, 8.0);
        strip(format!("{v:.*}", decimals as usize))
    }
}

/// A round number to subtract from tick labels when the range is too narrow for its
/// magnitude to label legibly (e.g. a 1% bias known to 1e-8); 0 otherwise.
fn axis_offset(lo: f64, hi: f64) -> f64 {
    let span = hi - lo;
    if lo.abs().max(hi.abs()) < 1e3 * span {
        return 0.0;
    }
    let unit = 10f64.powf(span.log10().floor() + 1.0);
    ((lo + hi) / 2.0 / unit).round() * unit
}

/// Labels only the powers of ten of a log axis.
fn count_tick(v: f64) -> String {
    let e = v.log10();
    if (e - e.round()).abs() > 1e-9 || e < -0.5 {
        return String::new();
    }
    match e.round() as i32 {
        0..=5 => format!("{}", 10f64.powi(e.round() as i32)),
        k => format!("1e{k}"),
    }
}

/// Draws `series` as histograms sharing one binning: the first filled, the others as outlines.
/// With `zero_line`, marks x = 0 when it is in range.
pub fn histogram(title: &str, x_desc: &str, series: &[Series], zero_line: bool) -> Plot {
    let mut all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .collect();
    all.sort_by(f64::total_cmp);
    let (lo, hi) = bin_range(&all);
    let binned: Vec<_> = series.iter().map(|s| bin(s.values, lo, hi)).collect();
    let counts: Vec<&[usize]> = binned.iter().map(|b| b.0.as_slice()).collect();
    let mut svg = String::new();
    // Drawing into a String cannot fail.
    let _ = draw(
        &mut svg,
        title,
        x_desc,
        (lo, hi),
        series,
        &counts,
        zero_line,
    );
    let outside = binned.iter().map(|b| (b.1, b.2)).collect();
    Plot {
        svg,
        lo,
        hi,
        outside,
    }
}

fn draw(
    svg: &mut String,
    title: &str,
    x_desc: &str,
    (lo, hi): (f64, f64),
    series: &[Series],
    counts: &[&[usize]],
    zero_line: bool,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let peak = counts
        .iter()
        .flat_map(|c| c.iter().copied())
        .max()
        .unwrap_or(0);
    // Headroom above the tallest bar for the legend, a decade or so on the log axis.
    let top = (peak.max(1) as f64) * if series.len() > 1 { 30.0 } else { 3.0 };
    let floor = 0.5;
    let width = (hi - lo) / BINS as f64;
    let edge = |i: usize| lo + width * i as f64;
    let offset = axis_offset(lo, hi);
    let x_desc = if offset == 0.0 {
        x_desc.to_string()
    } else {
        let sign = if offset > 0.0 { '−' } else { '+' };
        format!("{x_desc}  {sign} {}", tick(offset.abs(), lo, hi))
    };

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 17))
        .margin(8)
        .margin_right(18)
        .x_label_area_size(48)
        .y_label_area_size(62)
        .build_cartesian_2d(lo..hi, (floor..top).log_scale())?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(12)
        .x_label_formatter(&|v| tick(*v - offset, lo - offset, hi - offset))
        .y_label_formatter(&|v| count_tick(*v))
        .x_desc(x_desc.as_str())
        .y_desc("rows per bin")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(BLACK.mix(0.04))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;

    for (k, (s, c)) in series.iter().zip(counts).enumerate() {
        if s.values.is_empty() {
            continue;
        }
        if k == 0 {
            let style = s.color.mix(0.45).filled();
            let bars =
                c.iter().enumerate().filter(|(_, &n)| n > 0).map(|(i, &n)| {
                    Rectangle::new([(edge(i), floor), (edge(i + 1), n as f64)], style)
                });
            chart
                .draw_series(bars)?
                .label(s.label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], style));
        } else {
            let style = s.color.stroke_width(2);
            let mut steps = vec![(lo, floor)];
            for (i, &n) in c.iter().enumerate() {
                let y = if n > 0 { n as f64 } else { floor };
                steps.extend([(edge(i), y), (edge(i + 1), y)]);
            }
            steps.push((hi, floor));
            chart
                .draw_series(std::iter::once(PathElement::new(steps, style)))?
                .label(s.label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
        }
    }
    if zero_line && lo < 0.0 && hi > 0.0 {
        let line = PathElement::new([(0.0, floor), (0.0, top)], BLACK.mix(0.6));
        chart.plotting_area().draw(&line)?;
    }
    if series.len() > 1 && peak > 0 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    if peak == 0 {
        let style = (FONT, 15).into_font().color(&BLACK.mix(0.6));
        let text = Text::new("no finite values", ((lo + hi) / 2.0, 1.5), style);
        chart.plotting_area().draw(&text)?;
    }
    root.present()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(bin_range(&[]), (-1.0, 1.0));
        for v in [0.0, 5.0, -3e30] {
            let (lo, hi) = bin_range(&[v, v]);
            let centre =
                lo + (hi - lo) / BINS as f64 * (BINS / 2) as f64 + (hi - lo) / BINS as f64 / 2.0;
            assert!((centre - v).abs() <= 1e-9 * (hi - lo), "{v}: {lo} {hi}");
        }
        // Mostly zeros with a few outliers: the full range, not an empty one.
        let mut v = vec![0.0; 10_000];
        v.push(1.0);
        let (lo, hi) = bin_range(&v);
        assert!(lo < 0.0 && hi > 1.0);
    }

    #[test]
    fn binning_counts_outside() {
        let (c, under, over) = bin(&[-1.0, 0.0, 0.5, 1.0, 2.0], 0.0, 1.0);
        assert_eq!((c.iter().sum::<usize>(), under, over), (3, 1, 1));
        assert_eq!((c[0], c[BINS / 2], c[BINS - 1]), (1, 1, 1));
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick(0.25, 0.0, 1.0), "0.25");
        assert_eq!(tick(1.0, 0.0, 1.0), "1");
        assert_eq!(tick(2e-7, 0.0, 5e-7), "2e-7");
        assert_eq!(tick(1.5e-7, 0.0, 5e-7), "1.5e-7");
        assert_eq!(tick(1e-22, -1.0, 1.0), "0");
        assert_eq!(tick(20000.0, 0.0, 1e5), "2e4");
        assert_eq!(axis_offset(-1.0, 1.0), 0.0);
        let o = axis_offset(0.01 - 5e-8, 0.01 + 4e-8);
        assert!((o - 0.01).abs() < 1e-12);
        assert_eq!(tick(o, 0.01 - 5e-8, 0.01 + 4e-8), "0.01");
        assert_eq!(count_tick(100.0), "100");
        assert_eq!(count_tick(20.0), "");
        assert_eq!(count_tick(1e5), "100000");
        assert_eq!(count_tick(1e6), "1e6");
    }
}

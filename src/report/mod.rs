//! `lamarrc validate --report`: one self-contained HTML page comparing compiled outputs with
//! the reference. A header (model, engine, tolerance, rows, date), a summary table, then per
//! output three histograms as inline SVG: both distributions overlaid, compiled − reference,
//! and (compiled − reference)/|reference|. Nothing is fetched: no scripts, links or images.

mod plots;
mod stats;

use plots::{Plot, Series};
use plotters::style::RGBColor;
use std::fmt::Write;

/// One output column: compiled and reference values, row by row.
pub struct Column<'a> {
    /// Empty when unknown.
    pub name: String,
    pub compiled: &'a [f32],
    pub reference: &'a [f32],
}

pub struct ReportInfo {
    pub model: String,
    /// What ran the compiled model, e.g. "shared library" or "JIT".
    pub engine: String,
    pub atol: f64,
    pub rtol: f64,
    pub rows: usize,
    /// Where the inputs came from, e.g. a file name.
    pub inputs: String,
}

const REFERENCE: RGBColor = RGBColor(31, 119, 180);
const COMPILED: RGBColor = RGBColor(214, 39, 40);
const ERROR: RGBColor = RGBColor(84, 84, 150);

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;
 color:#222;margin:24px auto;max-width:1420px;padding:0 16px}
h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;margin:28px 0 6px}
table{border-collapse:collapse}td,th{padding:4px 10px;border:1px solid #ccc}
th{background:#f1f1f1;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.meta td{border:none;padding:2px 12px 2px 0}table.meta td:first-child{color:#666}
.pass{background:#dcf3dc;color:#14601a;font-weight:600}.fail{background:#fadada;color:#9b1010;font-weight:600}
.verdict{display:inline-block;padding:6px 14px;margin:10px 0;border-radius:4px;font-size:17px}
.badge{padding:2px 8px;border-radius:3px;font-size:14px;vertical-align:middle}
.note{color:#555;font-size:13.5px;max-width:1100px}.facts{margin:2px 0 8px}
.panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
figure{margin:0;max-width:520px}figure svg{display:block;width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:13px;color:#444;margin-top:4px;line-height:1.35}
.warn{color:#9b1010;font-weight:600}
";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Three significant digits in scientific notation; "—" for no value.
fn num(x: f64) -> String {
    if x.is_nan() {
        "—".into()
    } else if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.2e}")
    }
}

/// Shortest scientific notation ("1e-5"), or "0".
fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:e}")
    }
}

fn percent(n: usize, of: usize) -> String {
    let p = 100.0 * n as f64 / of.max(1) as f64;
    if n == 0 {
        "0%".into()
    } else if p < 0.01 {
        "&lt;0.01%".into()
    } else {
        format!("{p:.2}%")
    }
}

/// A count, in red when not zero.
fn flagged(n: usize) -> String {
    if n == 0 {
        "0".into()
    } else {
        format!("<span class=\"warn\">{n}</span>")
    }
}

fn title(index: usize, name: &str) -> String {
    if name.is_empty() {
        format!("Output {index}")
    } else {
        format!("Output {index} ({name})")
    }
}

/// The UTC date and time now, as `YYYY-MM-DD HH:MM UTC`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Days to civil date (Howard Hinnant's algorithm).
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// "60 bins over [lo, hi]" and what fell outside, per series.
fn range_note(plot: &Plot, labels: &[&str]) -> String {
    let mut s = format!(
        "{} bins of width {} over [{}, {}].",
        plots::BINS,
        num((plot.hi - plot.lo) / plots::BINS as f64),
        plots::tick(plot.lo, plot.lo, plot.hi),
        plots::tick(plot.hi, plot.lo, plot.hi),
    );
    let outside: Vec<String> = plot
        .outside
        .iter()
        .zip(labels)
        .filter(|((u, o), _)| u + o > 0)
        .map(|((u, o), l)| format!("{l}<b>{u}</b> below, <b>{o}</b> above"))
        .collect();
    if outside.is_empty() {
        s.push_str(" No value outside the range.");
    } else {
        let _ = write!(s, " Outside the range (not drawn): {}.", outside.join("; "));
    }
    s
}

fn section(out: &mut String, index: usize, col: &Column, st: &stats::Stats) {
    let t = title(index, &col.name);
    // Plot titles are kept short enough to fit the picture.
    let short: String = if col.name.chars().count() > 22 {
        let head: String = col.name.chars().take(21).collect();
        title(index, &format!("{head}…"))
    } else {
        t.clone()
    };
    let finite = |v: &[f32]| -> Vec<f64> {
        v.iter()
            .filter(|x| x.is_finite())
            .map(|&x| x as f64)
            .collect()
    };
    let (reference, compiled) = (finite(col.reference), finite(col.compiled));
    let dist = plots::histogram(
        &format!("{short}: distributions"),
        "output value",
        &[
            Series::new("reference", REFERENCE, &reference),
            Series::new("compiled", COMPILED, &compiled),
        ],
        false,
    );
    let abs = plots::histogram(
        &format!("{short}: absolute error"),
        "compiled − reference",
        &[Series::new("", ERROR, &st.diff)],
        true,
    );
    let rel = plots::histogram(
        &format!("{short}: relative error"),
        "(compiled − reference) / |reference|",
        &[Series::new("", ERROR, &st.rel_diff)],
        true,
    );

    let (class, verdict) = if st.passed() {
        ("pass", "PASS")
    } else {
        ("fail", "FAIL")
    };
    let _ = write!(
        out,
        "<section id=\"out-{index}\"><h2>{} <span class=\"badge {class}\">{verdict}</span></h2>\n\
         <p class=\"facts\">{} rows; {} over tolerance ({}); max |Δ| {}, max relative {}; \
         non-finite: compiled {}, reference {}.</p>\n<div class=\"panels\">\n",
        esc(&t),
        st.rows,
        flagged(st.exceeding),
        percent(st.exceeding, st.rows),
        num(st.abs.max),
        num(st.rel.max),
        flagged(st.nonfinite_compiled),
        flagged(st.nonfinite_reference),
    );
    let nonfinite_rows = st.rows - st.diff.len();
    let all_zero = |v: &[f64]| {
        if !v.is_empty() && v.iter().all(|&d| d == 0.0) {
            " <b>All are exactly 0.</b>"
        } else {
            ""
        }
    };
    let captions = [
        format!(
            "Reference (blue, filled) and compiled (red line) values. {} \
             Not drawn: non-finite values, reference {}, compiled {}.",
            range_note(&dist, &["reference ", "compiled "]),
            flagged(st.nonfinite_reference),
            flagged(st.nonfinite_compiled),
        ),
        format!(
            "Signed difference of {} rows where both are finite.{} {} Not drawn: {} rows with a \
             non-finite value ({} of them mismatched).",
            st.diff.len(),
            all_zero(&st.diff),
            range_note(&abs, &[""]),
            nonfinite_rows,
            flagged(st.nonfinite_mismatch),
        ),
        format!(
            "Signed relative difference of {} rows.{} {} Not drawn: {} rows where the reference \
             is 0 (relative error undefined), {} rows with a non-finite value.",
            st.rel_diff.len(),
            all_zero(&st.rel_diff),
            range_note(&rel, &[""]),
            st.zero_reference,
            nonfinite_rows,
        ),
    ];
    for (plot, caption) in [dist, abs, rel].iter().zip(captions) {
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>{caption}</figcaption></figure>",
            plot.svg
        );
    }
    out.push_str("</div></section>\n");
}

/// The whole report as one HTML document.
pub fn render_html(info: &ReportInfo, columns: &[Column]) -> String {
    let stats: Vec<stats::Stats> = columns
        .iter()
        .map(|c| stats::compute(c.compiled, c.reference, info.atol, info.rtol))
        .collect();
    let failed = stats.iter().filter(|s| !s.passed()).count();
    let exceeding: usize = stats.iter().map(|s| s.exceeding).sum();

    let mut h = String::with_capacity(64 * 1024 * (1 + columns.len()));
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <title>Validation report: {model}</title>\n<style>{STYLE}</style></head><body>\n\
         <h1>Validation report: {model}</h1>\n<table class=\"meta\">\n\
         <tr><td>compiled model run by</td><td>{engine}</td></tr>\n\
         <tr><td>inputs</td><td>{inputs}</td></tr>\n\
         <tr><td>rows</td><td>{rows}</td></tr>\n\
         <tr><td>outputs</td><td>{cols}</td></tr>\n\
         <tr><td>tolerance</td><td>|compiled − reference| ≤ atol + rtol·|reference|, \
         atol = {atol}, rtol = {rtol}</td></tr>\n\
         <tr><td>generated</td><td>{date} by lamarrc {version}</td></tr>\n</table>\n",
        model = esc(&info.model),
        engine = esc(&info.engine),
        inputs = esc(&info.inputs),
        rows = info.rows,
        cols = columns.len(),
        atol = sci(info.atol),
        rtol = sci(info.rtol),
        date = now_utc(),
        version = env!("CARGO_PKG_VERSION"),
    );
    if failed == 0 {
        let _ = writeln!(
            h,
            "<div class=\"verdict pass\">PASS: all {} outputs within tolerance</div>",
            columns.len()
        );
    } else {
        let _ = writeln!(
            h,
            "<div class=\"verdict fail\">FAIL: {failed} of {} outputs exceed tolerance \
             ({exceeding} values in all)</div>",
            columns.len()
        );
    }

    h.push_str(
        "<h2>Summary</h2>\n<table>\n<tr><th rowspan=\"2\">output</th><th rowspan=\"2\">name</th>\
         <th colspan=\"3\">absolute error |Δ|</th><th colspan=\"3\">relative error |Δ|/|reference|</th>\
         <th rowspan=\"2\">over<br>tolerance</th><th rowspan=\"2\">non-finite<br>compiled / reference</th>\
         <th rowspan=\"2\">result</th></tr>\n<tr><th>max</th><th>median</th><th>99.9%</th>\
         <th>max</th><th>median</th><th>99.9%</th></tr>\n",
    );
    for (j, (c, s)) in columns.iter().zip(&stats).enumerate() {
        let (class, verdict) = if s.passed() {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"n\"><a href=\"#out-{j}\">{j}</a></td><td>{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{} / {}</td><td class=\"{class}\">{verdict}</td></tr>",
            esc(&c.name),
            num(s.abs.max),
            num(s.abs.median),
            num(s.abs.p999),
            num(s.rel.max),
            num(s.rel.median),
            num(s.rel.p999),
            flagged(s.exceeding),
            flagged(s.nonfinite_compiled),
            flagged(s.nonfinite_reference),
        );
    }
    h.push_str(
        "</table>\n<p class=\"note\">Δ = compiled − reference. Error statistics cover rows where \
         both values are finite; relative errors leave out rows whose reference is 0. A row is over \
         tolerance when |Δ| &gt; atol + rtol·|reference|, or when compiled and reference differ in a \
         non-finite value (NaN matches NaN). Histograms use 60 bins over the 0.1%–99.9% quantile \
         range plus a 5% margin; values outside it are counted under each plot. Counts are on a \
         log scale; empty bins are not drawn.</p>\n",
    );
    for (j, (c, s)) in columns.iter().zip(&stats).enumerate() {
        section(&mut h, j, c, s);
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(rows: usize) -> ReportInfo {
        ReportInfo {
            model: "model <test>".into(),
            engine: "JIT".into(),
            atol: 1e-6,
            rtol: 1e-5,
            rows,
            inputs: "inputs.npy".into(),
        }
    }

    /// Self-contained: no fetches of any kind.
    fn check_offline(h: &str) {
        assert!(h.starts_with("<!DOCTYPE html>"));
        for bad in [
            "src=\"http",
            "src='http",
            "<link",
            "<script",
            "url(",
            "@import",
        ] {
            assert!(!h.contains(bad), "report contains {bad}");
        }
        let without_ns = h.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    }

    #[test]
    fn three_panels_per_output() {
        let r: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let c: Vec<f32> = r.iter().map(|x| x * 1.01).collect();
        let cols = [
            Column {
                name: "ok".into(),
                compiled: &r,
                reference: &r,
            },
            Column {
                name: "biased".into(),
                compiled: &c,
                reference: &r,
            },
        ];
        let h = render_html(&info(1000), &cols);
        check_offline(&h);
        assert_eq!(h.matches("<svg").count(), 6);
        assert!(h.contains("FAIL: 1 of 2 outputs"));
        assert!(h.contains("model &lt;test&gt;"));
    }

    #[test]
    fn nan_zero_errors_and_one_row() {
        let nan = [f32::NAN, 1.0, f32::INFINITY, 0.0];
        let other = [f32::NAN, 1.0, 2.0, 0.0];
        let one = [3.0f32];
        let cols = [
            Column {
                name: String::new(),
                compiled: &nan,
                reference: &other,
            },
            Column {
                name: "same".into(),
                compiled: &other,
                reference: &other,
            },
            Column {
                name: "one".into(),
                compiled: &one,
                reference: &one,
            },
            Column {
                name: "all nan".into(),
                compiled: &[f32::NAN; 3],
                reference: &[f32::NAN; 3],
            },
            Column {
                name: "empty".into(),
                compiled: &[],
                reference: &[],
            },
        ];
        let h = render_html(&info(4), &cols);
        check_offline(&h);
        assert_eq!(h.matches("<svg").count(), 15);
        assert!(h.contains("no finite values"));
        assert!(!h.contains(">NaN") && !h.contains("inf<"));
    }

    #[test]
    fn pass_verdict_and_escaped_names() {
        let r = [1.0f32, 2.0, 3.0];
        let cols = [Column {
            name: "a<b & \"c\"".into(),
            compiled: &r,
            reference: &r,
        }];
        let h = render_html(&info(3), &cols);
        check_offline(&h);
        assert!(h.contains("PASS: all 1 outputs within tolerance"));
        assert!(!h.contains("a<b") && h.contains("a&lt;b &amp; &quot;c&quot;"));
    }
}

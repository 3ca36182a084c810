//! Drawing: a [`Figure`] (one or two panels over a shared x axis, a
//! legend, threshold lines) rendered to SVG text with plotters' SVG
//! backend.
//!
//! Owns the look of every chart — layout, palette, ticks, labels — and
//! nothing about where the numbers come from (see `plan`). Logarithmic
//! axes are drawn on log10 of the values with ticks placed here (decades,
//! plus 2 and 5 when the range is narrow), so labels read `10 µs`, not
//! `10^4.0`. Text is emitted as SVG `<text>` in the `sans-serif` family
//! and laid out with plotters' built-in estimate: no font is read at
//! build or render time; the browser draws the glyphs.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::label::{LABEL_HEIGHT, LabelBox, Segment, place_label};
use crate::report::format;

/// Line colours, one per target in run order (then repeating).
pub(crate) const PALETTE: &[RGBColor] = &[
    RGBColor(0x25, 0x63, 0xeb), // blue
    RGBColor(0xdc, 0x26, 0x26), // red
    RGBColor(0x16, 0xa3, 0x4a), // green
    RGBColor(0xea, 0x58, 0x0c), // orange
    RGBColor(0x93, 0x33, 0xea), // purple
    RGBColor(0x0e, 0x74, 0x90), // teal
    RGBColor(0xa1, 0x62, 0x07), // amber
    RGBColor(0x47, 0x55, 0x69), // slate
];

const WIDTH: u32 = 880;
const PANEL_HEIGHT: u32 = 300;
const TITLE_HEIGHT: u32 = 38;
const LEGEND_ROW: u32 = 22;
const MARGIN: u32 = 16;
const Y_LABELS: u32 = 78;
const X_LABELS: u32 = 44;
const FONT: &str = "sans-serif";
// plotters' SVG backend writes a font of size S as S / 1.24 px; these are
// chosen for what the browser then draws (title 17 px, labels 12–13 px).
const TITLE_FONT: f64 = 21.0;
const TICK_FONT: f64 = 16.0;
const PANEL_FONT: f64 = 17.0;
const NOTE_FONT: f64 = 15.0;

/// What the x axis shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum XAxis {
    /// Percentiles as HdrHistogram plots them: x = -log10(1 - q), so
    /// 0, 90, 99, 99.9, 99.99 % are evenly spaced at 0 … 4.
    Percentile,
    /// Seconds from the phase start.
    Seconds,
    /// Named points at 0, 1, 2, … (a matrix's swept values).
    Categories(Vec<String>),
}

/// What a panel's y axis shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum YAxis {
    /// Latency in ns on a logarithmic axis.
    LatencyLog,
    /// Records per second on a linear axis from zero.
    Rate,
    /// Records per second on a logarithmic axis (values that span orders
    /// of magnitude, as across a matrix).
    RateLog,
    /// Bytes on a linear axis around the values (not from zero: a process's
    /// memory moves by a few MiB on top of tens), in steps of MiB.
    Bytes,
}

/// One line: a target (or its service time).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    /// Legend text.
    pub label: String,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// Dashed (service time).
    pub dashed: bool,
    /// (x, y) in the axes' units (ns for latency).
    pub points: Vec<(f64, f64)>,
}

/// An assertion's threshold, drawn as a dashed horizontal line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Threshold {
    /// The text drawn beside it (the assertion).
    pub label: String,
    /// The threshold in the y axis' unit.
    pub value: f64,
    /// Where on x the assertion applies (e.g. 2 for a p99), marked.
    pub at_x: Option<f64>,
}

/// One plotting area of a figure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    /// Drawn above the panel, e.g. `latency (log scale)`.
    pub title: String,
    /// The y axis.
    pub y: YAxis,
    /// Its lines.
    pub lines: Vec<Line>,
    /// Thresholds that apply to it.
    pub thresholds: Vec<Threshold>,
}

/// A whole chart: a title, a legend, panels stacked over one x axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    /// Drawn at the top.
    pub title: String,
    /// The shared x axis.
    pub x: XAxis,
    /// Its caption.
    pub x_label: String,
    /// Top to bottom.
    pub panels: Vec<Panel>,
}

/// About how wide a browser draws `text` in `sans-serif` at plotters
/// font size `size` (drawn at size / 1.24 px, about half an em a
/// character); for laying out the legend, which plotters does not.
fn text_width(text: &str, size: f64) -> i32 {
    (size / 1.24 * 0.5 * text.chars().count() as f64).round() as i32
}

/// `1.00 µs` → `1 µs`, `2.50 ms` → `2.5 ms`: tick labels without
/// trailing zeros.
fn trim_zeros(label: &str) -> String {
    let (number, unit) = match label.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')) {
        Some(i) => label.split_at(i),
        None => (label, ""),
    };
    let number = if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    };
    format!("{number}{unit}")
}

/// Ticks of a logarithmic axis over log10 values `lo..=hi`: every decade,
/// and 2× and 5× when the range spans three decades or fewer.
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let steps: &[f64] = if hi - lo <= 3.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let mut out = Vec::new();
    let mut decade = lo.floor() as i32;
    while f64::from(decade) <= hi {
        for s in steps {
            let v = f64::from(decade) + s.log10();
            if v >= lo - 1e-9 && v <= hi + 1e-9 {
                out.push(v);
            }
        }
        decade += 1;
    }
    out
}

/// A step of 1, 2 or 5 × 10^k that cuts `0..=span` into about `n` parts.
pub(crate) fn nice_step(span: f64, n: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn linear_ticks(lo: f64, hi: f64, n: f64) -> Vec<f64> {
    let step = nice_step(hi - lo, n);
    let mut out = Vec::new();
    let mut v = (lo / step).ceil() * step;
    while v <= hi + step * 1e-9 {
        out.push(v);
        v += step;
    }
    out
}

/// The y range (in plotted units: log10 for latency) of a panel, from its
/// lines and thresholds.
fn y_range(panel: &Panel) -> (f64, f64) {
    let values = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(panel.thresholds.iter().map(|t| t.value))
        .filter(|v| v.is_finite());
    match panel.y {
        YAxis::LatencyLog | YAxis::RateLog => {
            let (mut lo, mut hi) = (f64::MAX, f64::MIN);
            for v in values {
                let l = v.max(1.0).log10();
                lo = lo.min(l);
                hi = hi.max(l);
            }
            if lo > hi {
                return (2.0, 4.0);
            }
            // Out to the next tick of the 1-2-5 sequence on each side.
            let ticks = log_ticks(lo.floor(), hi.ceil());
            let lo = ticks
                .iter()
                .rev()
                .find(|t| **t <= lo + 1e-9)
                .copied()
                .unwrap_or(lo.floor());
            let hi = ticks
                .iter()
                .find(|t| **t >= hi - 1e-9)
                .copied()
                .unwrap_or(hi.ceil());
            if hi - lo < 0.3 {
                (lo - 0.15, hi + 0.15)
            } else {
                (lo, hi)
            }
        }
        YAxis::Rate => {
            let hi = values.fold(0.0f64, f64::max);
            if hi <= 0.0 {
                return (0.0, 1.0);
            }
            let step = nice_step(hi * 1.05, 5.0);
            (0.0, (hi * 1.05 / step).ceil() * step)
        }
        YAxis::Bytes => {
            let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
            if lo > hi {
                return (0.0, MIB);
            }
            let step = mib_step(hi - lo);
            let (a, b) = ((lo / step).floor() * step, (hi / step).ceil() * step);
            if b > a { (a, b) } else { (a, a + step) }
        }
    }
}

/// A MiB.
const MIB: f64 = 1048576.0;

/// A tick step for a byte span: a 1-2-5 number of MiB (at least one),
/// about five ticks over the span.
fn mib_step(span: f64) -> f64 {
    nice_step(span / MIB, 5.0).max(1.0) * MIB
}

fn plotted(y: YAxis, v: f64) -> f64 {
    match y {
        YAxis::LatencyLog | YAxis::RateLog => v.max(1.0).log10(),
        YAxis::Rate | YAxis::Bytes => v,
    }
}

fn y_label(y: YAxis, v: f64) -> String {
    match y {
        YAxis::LatencyLog => trim_zeros(&format::duration_ns(10f64.powf(v).round())),
        YAxis::Rate => trim_zeros(&format::rate(v)),
        YAxis::RateLog => trim_zeros(&format::rate(10f64.powf(v).round())),
        YAxis::Bytes => format!("{} MiB", (v / MIB).round()),
    }
}

/// Percentile labels at x = 0 … 5.
const PERCENTILE_LABELS: &[&str] = &["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];

fn x_range(fig: &Figure) -> (f64, f64) {
    match &fig.x {
        XAxis::Percentile => (0.0, 4.0),
        XAxis::Categories(c) => (-0.3, (c.len().max(1) as f64) - 0.7),
        XAxis::Seconds => {
            let hi = fig
                .panels
                .iter()
                .flat_map(|p| &p.lines)
                .flat_map(|l| l.points.iter().map(|p| p.0))
                .fold(0.0f64, f64::max);
            (0.0, if hi > 0.0 { hi } else { 1.0 })
        }
    }
}

fn x_ticks(fig: &Figure, lo: f64, hi: f64) -> Vec<(f64, String)> {
    match &fig.x {
        XAxis::Percentile => PERCENTILE_LABELS
            .iter()
            .enumerate()
            .map(|(i, l)| (i as f64, (*l).to_owned()))
            .filter(|(x, _)| *x <= hi + 1e-9)
            .collect(),
        XAxis::Categories(c) => c
            .iter()
            .enumerate()
            .map(|(i, l)| (i as f64, l.clone()))
            .collect(),
        XAxis::Seconds => linear_ticks(lo, hi, 8.0)
            .into_iter()
            .map(|t| (t, format!("{} s", format::round3(t))))
            .collect(),
    }
}

/// The legend entries: each distinct (label, colour, dash) in first-seen order.
fn legend(fig: &Figure) -> Vec<(&str, usize, bool)> {
    let mut out: Vec<(&str, usize, bool)> = Vec::new();
    for l in fig.panels.iter().flat_map(|p| &p.lines) {
        if !out.iter().any(|e| e.0 == l.label) {
            out.push((l.label.as_str(), l.color, l.dashed));
        }
    }
    out
}

const LEGEND_SAMPLE: i32 = 28;
const LEGEND_FONT: f64 = 17.0;

/// Lays the legend out in rows that fit the width: (row, x offset) each.
fn legend_layout(entries: &[(&str, usize, bool)]) -> Vec<(u32, i32)> {
    let usable = (WIDTH - 2 * MARGIN) as i32;
    let (mut row, mut x) = (0u32, 0i32);
    let mut out = Vec::new();
    for (label, _, _) in entries {
        let w = LEGEND_SAMPLE + 6 + text_width(label, LEGEND_FONT) + 14;
        if x > 0 && x + w > usable {
            row += 1;
            x = 0;
        }
        out.push((row, x));
        x += w;
    }
    out
}

fn style(c: &RGBColor, width: u32) -> ShapeStyle {
    ShapeStyle {
        color: c.to_rgba(),
        filled: false,
        stroke_width: width,
    }
}

/// The SVG text of `fig`.
///
/// # Errors
/// plotters' drawing error, as text (the SVG backend writes into a
/// string, so in practice only malformed input fails).
pub(crate) fn render(fig: &Figure) -> Result<String, String> {
    let entries = legend(fig);
    let layout = legend_layout(&entries);
    let legend_rows = layout.last().map_or(0, |(r, _)| r + 1);
    let header = TITLE_HEIGHT + legend_rows * LEGEND_ROW + 6;
    let panels = fig.panels.len().max(1) as u32;
    let height = header + panels * PANEL_HEIGHT + X_LABELS + 8;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        draw(fig, &root, &entries, &layout, header).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult =
    Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(
    fig: &Figure,
    root: &Area<'_>,
    entries: &[(&str, usize, bool)],
    layout: &[(u32, i32)],
    header: u32,
) -> DrawResult {
    root.fill(&WHITE)?;
    let title = TextStyle::from((FONT, TITLE_FONT).into_font()).color(&BLACK);
    root.draw(&Text::new(
        fig.title.clone(),
        (MARGIN as i32, 10),
        title.pos(Pos::new(HPos::Left, VPos::Top)),
    ))?;
    let legend_text = TextStyle::from((FONT, LEGEND_FONT).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for ((label, color, dashed), (row, x)) in entries.iter().zip(layout) {
        let y = (TITLE_HEIGHT + row * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        let x0 = MARGIN as i32 + x;
        let c = &PALETTE[color % PALETTE.len()];
        if *dashed {
            for d in 0..3 {
                let a = x0 + d * 11;
                root.draw(&PathElement::new(vec![(a, y), (a + 7, y)], style(c, 3)))?;
            }
        } else {
            root.draw(&PathElement::new(
                vec![(x0, y), (x0 + LEGEND_SAMPLE, y)],
                style(c, 3),
            ))?;
        }
        root.draw(&Text::new(
            (*label).to_owned(),
            (x0 + LEGEND_SAMPLE + 6, y),
            legend_text.clone(),
        ))?;
    }
    let (_, body) = root.split_vertically(header);
    let last_panel = fig.panels.len().saturating_sub(1);
    let areas: Vec<Area<'_>> = {
        let mut rest = body;
        let mut out = Vec::new();
        for i in 0..fig.panels.len() {
            let h = if i == last_panel {
                rest.dim_in_pixel().1
            } else {
                PANEL_HEIGHT
            };
            let (top, bottom) = rest.split_vertically(h);
            out.push(top);
            rest = bottom;
        }
        out
    };
    let (x0, x1) = x_range(fig);
    let xt = x_ticks(fig, x0, x1);
    for (i, (panel, area)) in fig.panels.iter().zip(&areas).enumerate() {
        let (y0, y1) = y_range(panel);
        let mut chart = ChartBuilder::on(area)
            .margin_left(MARGIN)
            .margin_right(MARGIN + 8)
            .margin_top(26)
            .x_label_area_size(if i == last_panel { X_LABELS } else { 12 })
            .y_label_area_size(Y_LABELS)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let grid = style(&RGBColor(0xe2, 0xe8, 0xf0), 1);
        let tick_text =
            TextStyle::from((FONT, TICK_FONT).into_font()).color(&RGBColor(0x33, 0x41, 0x55));
        for t in match panel.y {
            YAxis::LatencyLog | YAxis::RateLog => log_ticks(y0, y1),
            YAxis::Rate => linear_ticks(y0, y1, 5.0),
            YAxis::Bytes => {
                let step = mib_step(y1 - y0);
                let n = ((y1 - y0) / step).round() as usize;
                (0..=n).map(|i| y0 + step * i as f64).collect()
            }
        } {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x0, t), (x1, t)],
                grid,
            )))?;
            let (px, py) = chart.backend_coord(&(x0, t));
            root.draw(&Text::new(
                y_label(panel.y, t),
                (px - 6, py),
                tick_text.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        for (t, label) in &xt {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(*t, y0), (*t, y1)],
                grid,
            )))?;
            if i == last_panel {
                let (px, py) = chart.backend_coord(&(*t, y0));
                root.draw(&Text::new(
                    label.clone(),
                    (px, py + 6),
                    tick_text.pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
        }
        let (left, top) = chart.backend_coord(&(x0, y1));
        let (right, bottom) = chart.backend_coord(&(x1, y0));
        root.draw(&Rectangle::new(
            [(left, top), (right, bottom)],
            style(&RGBColor(0x64, 0x74, 0x8b), 1),
        ))?;
        root.draw(&Text::new(
            panel.title.clone(),
            (left, top - 6),
            TextStyle::from((FONT, PANEL_FONT).into_font())
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Bottom)),
        ))?;
        if i == last_panel {
            root.draw(&Text::new(
                fig.x_label.clone(),
                ((left + right) / 2, bottom + 26),
                TextStyle::from((FONT, TICK_FONT).into_font())
                    .color(&RGBColor(0x33, 0x41, 0x55))
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        let mut segments: Vec<Segment> = Vec::new();
        for line in &panel.lines {
            let c = &PALETTE[line.color % PALETTE.len()];
            // A non-finite value is a gap (an interval without operations
            // has no p99): the line breaks there instead of bridging it.
            let runs: Vec<Vec<(f64, f64)>> = line
                .points
                .split(|p| !p.1.is_finite())
                .map(|run| {
                    run.iter()
                        .filter(|p| p.0 >= x0 - 1e-9 && p.0 <= x1 + 1e-9)
                        .map(|(x, v)| (*x, plotted(panel.y, *v)))
                        .collect::<Vec<_>>()
                })
                .filter(|run| !run.is_empty())
                .collect();
            for pts in &runs {
                if line.dashed {
                    chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style(c, 2)))?;
                } else {
                    chart.draw_series(LineSeries::new(pts.clone(), style(c, 2)))?;
                }
                let px: Vec<(i32, i32)> = pts.iter().map(|p| chart.backend_coord(p)).collect();
                segments.extend(px.windows(2).map(|w| (w[0], w[1])));
                if let [only] = px[..] {
                    segments.push((only, only));
                }
            }
            // Markers where points are few, except on a time axis, whose
            // lines are steps (each interval a segment over its length).
            let n: usize = runs.iter().map(Vec::len).sum();
            if n <= 24 && fig.x != XAxis::Seconds {
                chart.draw_series(
                    runs.iter()
                        .flatten()
                        .map(|p| Circle::new(*p, 3, ShapeStyle::from(c).filled())),
                )?;
            }
        }
        let ink = RGBColor(0x11, 0x18, 0x27);
        let mut placed: Vec<LabelBox> = Vec::new();
        for t in &panel.thresholds {
            let y = plotted(panel.y, t.value);
            chart.draw_series(DashedLineSeries::new(
                vec![(x0, y), (x1, y)],
                4,
                4,
                style(&ink, 1),
            ))?;
            if let Some(x) = t.at_x {
                chart.draw_series(std::iter::once(Circle::new((x, y), 5, style(&ink, 2))))?;
            }
            let (px, py) = chart.backend_coord(&(x1, y));
            let width = text_width(&t.label, NOTE_FONT);
            let (right, label_top, above) =
                place_label(&placed, &segments, (left, top, px - 4, bottom), py, width);
            placed.push(LabelBox {
                left: right - width,
                right,
                top: label_top,
            });
            // A light backing, so a label over a line stays legible.
            root.draw(&Rectangle::new(
                [
                    (right - width - 3, label_top),
                    (right + 2, label_top + LABEL_HEIGHT),
                ],
                WHITE.mix(0.85).filled(),
            ))?;
            root.draw(&Text::new(
                t.label.clone(),
                (
                    right,
                    if above {
                        label_top + LABEL_HEIGHT
                    } else {
                        label_top
                    },
                ),
                TextStyle::from((FONT, NOTE_FONT).into_font())
                    .color(&ink)
                    .pos(Pos::new(
                        HPos::Right,
                        if above { VPos::Bottom } else { VPos::Top },
                    )),
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn log_ticks_are_decades_and_two_five_steps_on_narrow_ranges() {
        let two = 2f64.log10();
        let five = 5f64.log10();
        assert!(approx(
            &log_ticks(3.0, 5.0),
            &[3.0, 3.0 + two, 3.0 + five, 4.0, 4.0 + two, 4.0 + five, 5.0]
        ));
        assert!(approx(
            &log_ticks(2.0, 8.0),
            &[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
        ));
        let labels: Vec<String> = log_ticks(3.0, 4.0)
            .into_iter()
            .map(|t| y_label(YAxis::LatencyLog, t))
            .collect();
        assert_eq!(labels, ["1 µs", "2 µs", "5 µs", "10 µs"]);
    }

    #[test]
    fn linear_ticks_use_one_two_five_steps() {
        assert_eq!(nice_step(1_000_000.0, 5.0), 200_000.0);
        assert_eq!(nice_step(7.0, 8.0), 1.0);
        assert_eq!(
            linear_ticks(0.0, 10.0, 5.0),
            [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(y_label(YAxis::Rate, 200_000.0), "200 k/s");
        assert_eq!(trim_zeros("1.50 ms"), "1.5 ms");
        assert_eq!(trim_zeros("100 ns"), "100 ns");
    }

    #[test]
    fn latency_range_covers_data_and_thresholds_on_tick_boundaries() {
        let panel = Panel {
            title: String::new(),
            y: YAxis::LatencyLog,
            lines: vec![Line {
                label: "a".into(),
                color: 0,
                dashed: false,
                points: vec![(0.0, 1_300.0), (4.0, 60_000.0)],
            }],
            thresholds: vec![Threshold {
                label: "p99 < 100ms".into(),
                value: 100e6,
                at_x: Some(2.0),
            }],
        };
        let (lo, hi) = y_range(&panel);
        assert!((lo - 3.0).abs() < 1e-9, "{lo}");
        assert!((hi - 8.0).abs() < 1e-9, "{hi}");
    }

    #[test]
    fn a_figure_renders_as_svg_with_legend_lines_and_thresholds() {
        let fig = Figure {
            title: "write · append: latency by percentile".into(),
            x: XAxis::Percentile,
            x_label: "percentile".into(),
            panels: vec![Panel {
                title: "latency (log scale)".into(),
                y: YAxis::LatencyLog,
                lines: vec![
                    Line {
                        label: "wal".into(),
                        color: 0,
                        dashed: false,
                        points: (0..=40)
                            .map(|i| (f64::from(i) / 10.0, 1e3 * f64::from(i + 1)))
                            .collect(),
                    },
                    Line {
                        label: "wal · service time".into(),
                        color: 0,
                        dashed: true,
                        points: vec![(0.0, 500.0), (4.0, 20_000.0)],
                    },
                ],
                thresholds: vec![Threshold {
                    label: "write.append.p99 < 10ms".into(),
                    value: 1e7,
                    at_x: Some(2.0),
                }],
            }],
        };
        let svg = render(&fig).expect("renders");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in [
            "write · append: latency by percentile",
            "wal · service time",
            "write.append.p99 &lt; 10ms",
            "99.99%",
            "10 ms",
            "percentile",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(svg.contains("font-family=\"sans-serif\""));
        assert!(
            svg.contains("#2563EB") || svg.contains("#2563eb"),
            "the first palette colour"
        );
    }
}

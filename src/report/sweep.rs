//! `<sweep>/index.html`: the page of a `[sweep]` as a whole, beside its points' own report
//! folders. Each expectation is plotted over the first swept path's values (a line per
//! combination of the other paths' values), with its limits as a band and every point
//! marked passed or failed; a table holds a row per point. Points, in the plots and the
//! table, link to their own pages (`../<point folder>/index.html`). Like the scenario pages,
//! it has no script, font or external asset.
//!
//! The plotted numbers are the verdicts' own ([`Verdict::value`]), not their text.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::chart::{self, SERIES_COLORS, Series, SweepAxis, SweepMark};
use super::html::{STYLE, escape, span};
use super::{Report, write_atomically};
use crate::scenario::expect::{Unit, Verdict};
use crate::scenario::file::{self, Swept};

/// The reports of each sweep among `reports`, in order: consecutive reports of one file
/// with a sweep point (how `netsim run` plays them).
pub fn groups(reports: &[Report]) -> Vec<Vec<&Report>> {
    let swept: Vec<&Report> = reports
        .iter()
        .filter(|report| !report.scenario.point.is_empty())
        .collect();
    swept
        .chunk_by(|a, b| a.scenario.file == b.scenario.file)
        .map(<[&Report]>::to_vec)
        .collect()
}

/// The folder of a sweep's page: its file's name, as a file without a sweep would have it
/// (its points' folders add the point: `loss-sweep_peers.alice.link.loss-5pct`).
pub fn folder(points: &[&Report]) -> String {
    points
        .first()
        .map_or_else(String::new, |first| super::folder(&first.scenario.file, &[]))
}

/// Writes the page of the sweep whose points are `points` to `out/<folder>/index.html`
/// (the folder created if missing); returns its path.
pub fn write(out: &Path, points: &[&Report]) -> std::io::Result<PathBuf> {
    let dir = out.join(folder(points));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("index.html");
    write_atomically(&path, page(points).as_bytes())?;
    Ok(path)
}

/// The page of the sweep whose points are `points`, in the order they were played.
pub fn page(points: &[&Report]) -> String {
    let mut html = String::new();
    let Some(first) = points.first() else {
        return html;
    };
    let scenario = &first.scenario;
    let suffix = format!("[{}]", file::label(&scenario.point));
    let name = scenario.name.strip_suffix(&suffix).unwrap_or(&scenario.name);
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{} · sweep · netsim</title><style>{STYLE}{SWEEP_STYLE}</style></head><body><main>"#,
        escape(name)
    );
    header(&mut html, name, points);
    let axis = axis(points);
    let series = series(points);
    html.push_str("<h2>Expectations over the sweep</h2>");
    legend(&mut html, &axis, &series);
    html.push_str(r#"<div class="plots">"#);
    let expectations = points.iter().map(|point| point.verdicts.len()).max().unwrap_or(0);
    for index in 0..expectations {
        plot(&mut html, points, &axis, &series, index);
    }
    html.push_str("</div>");
    if expectations == 0 {
        html.push_str("<p>No expectations were judged.</p>");
    }
    table(&mut html, points, expectations);
    html.push_str("</main></body></html>\n");
    html
}

fn header(html: &mut String, name: &str, points: &[&Report]) {
    let scenario = &points[0].scenario;
    let failed = points.iter().filter(|point| !point.passed).count();
    let badge = match failed {
        0 => format!(
            r#"<span class="badge pass">{} points passed</span>"#,
            points.len()
        ),
        failed => format!(
            r#"<span class="badge fail">{failed} of {} points failed</span>"#,
            points.len()
        ),
    };
    let paths: Vec<String> = scenario
        .point
        .iter()
        .map(|setting| format!("<code>{}</code>", escape(&setting.path)))
        .collect();
    let mut meta = vec![
        escape(&scenario.file.display().to_string()),
        format!("{} points over {}", points.len(), paths.join(" × ")),
    ];
    // What a path sweeps differs between points; the rest is the file's.
    if points.iter().all(|point| point.scenario.seed == scenario.seed) {
        meta.push(format!("seed {}", scenario.seed));
    }
    if points
        .iter()
        .all(|point| point.scenario.duration == scenario.duration)
    {
        meta.push(format!("{} call", span(scenario.duration)));
    }
    let harness = &points[0].harness;
    meta.push(format!(
        "{} {} · webrtc {}",
        harness.name, harness.version, harness.webrtc
    ));
    let _ = write!(
        html,
        r#"<header><h1>{} {badge}</h1><p class="meta">{}</p><p class="story">{}</p></header>"#,
        escape(name),
        meta.join(" · "),
        escape(&points[0].scenario.description)
    );
}

/// The first swept path's values, in the order the file lists them.
fn axis(points: &[&Report]) -> SweepAxis {
    let first = &points[0].scenario.point[0];
    let mut settings: Vec<&Swept> = Vec::new();
    for point in points {
        if let Some(setting) = point.scenario.point.first()
            && !settings.iter().any(|known| known.value == setting.value)
        {
            settings.push(setting);
        }
    }
    SweepAxis {
        name: first.path.clone(),
        values: settings.iter().map(|setting| setting.value.clone()).collect(),
        numbers: settings.iter().map(|setting| setting.number()).collect(),
    }
}

/// The values of every swept path but the first, per point (the label of its series), and
/// the series in the order they first come.
fn series(points: &[&Report]) -> Vec<String> {
    let mut series: Vec<String> = Vec::new();
    for point in points {
        let label = series_label(point);
        if !series.contains(&label) {
            series.push(label);
        }
    }
    series
}

fn series_label(point: &Report) -> String {
    file::label(point.scenario.point.get(1..).unwrap_or_default())
}

fn legend(html: &mut String, axis: &SweepAxis, series: &[String]) {
    html.push_str(r#"<p class="legend">"#);
    if series.len() > 1 {
        html.push_str("A line per ");
        for (index, label) in series.iter().enumerate() {
            let _ = write!(
                html,
                r#"<span><span class="swatch s{}"></span>{}</span> "#,
                index % SERIES_COLORS,
                escape(label)
            );
        }
        html.push_str("<br>");
    }
    let _ = write!(
        html,
        concat!(
            r#"Over <code>{}</code>: <span><span class="dot s0"></span>passed</span> "#,
            r#"<span><span class="dot failed"></span>failed</span> "#,
            r#"<span><span class="cross">✗</span>nothing measured</span> "#,
            r#"<span><span class="swatch within"></span>within the limits</span> "#,
            "· hover over a point for its measure, click it for its report.</p>"
        ),
        escape(&axis.name)
    );
}

/// The plot of the `index`-th expectation: its measure at every point.
fn plot(html: &mut String, points: &[&Report], axis: &SweepAxis, series: &[String], index: usize) {
    let verdicts = || points.iter().filter_map(|point| point.verdicts.get(index));
    let Some(shown) = verdicts().next() else {
        return;
    };
    let unit: Option<Unit> = verdicts().find_map(|verdict| verdict.value.map(|value| value.unit));
    let mut lines: Vec<Series> = series
        .iter()
        .map(|label| Series {
            label: label.clone(),
            values: String::new(),
            marks: Vec::new(),
        })
        .collect();
    for point in points {
        let Some(line) = lines.iter_mut().find(|line| line.label == series_label(point)) else {
            continue;
        };
        if line.values.is_empty() {
            let values: Vec<&str> = point.scenario.point[1..]
                .iter()
                .map(|setting| setting.value.as_str())
                .collect();
            line.values = values.join(", ");
        }
        let setting = &point.scenario.point[0];
        let at = axis
            .values
            .iter()
            .position(|value| *value == setting.value)
            .unwrap_or_default();
        let label = file::label(&point.scenario.point);
        let verdict = point.verdicts.get(index);
        let value = verdict.and_then(|verdict| verdict.value);
        line.marks.push(SweepMark {
            at,
            value: value.map(|value| value.measured),
            min: value.and_then(|value| value.min),
            max: value.and_then(|value| value.max),
            passed: verdict.is_some_and(|verdict| verdict.passed),
            title: format!("{label}: {}", measure(point, verdict)),
            href: link(point),
            point: label,
        });
    }
    let held = verdicts().filter(|verdict| verdict.passed).count();
    let _ = write!(
        html,
        r#"<figure><figcaption><b>{}</b> · limit {} · held at {held} of {} points</figcaption>{}</figure>"#,
        escape(&shown.expectation),
        escape(&shown.limit),
        points.len(),
        chart::sweep(axis, &lines, unit)
    );
}

/// What a point measured for one expectation, in words.
pub(super) fn measure(point: &Report, verdict: Option<&Verdict>) -> String {
    match (verdict, &point.error) {
        (Some(verdict), _) => format!(
            "{}, measured {}, limit {}",
            if verdict.passed { "held" } else { "FAILED" },
            verdict.measured,
            verdict.limit
        ),
        (None, Some(error)) => format!("could not finish: {error}"),
        (None, None) => "not judged".to_owned(),
    }
}

/// The point's own page, from the sweep's.
fn link(point: &Report) -> String {
    page_link(&point.scenario.folder())
}

/// The link to the page in the report folder `folder`, from a page in a sibling folder.
pub(super) fn page_link(folder: &str) -> String {
    // A `#` in a folder name would start the link's fragment.
    format!("../{}/index.html", folder.replace('#', "%23"))
}

/// A row per point: its values, verdict, connect time and every measure.
fn table(html: &mut String, points: &[&Report], expectations: usize) {
    html.push_str("<h2>Points</h2><table><tr>");
    for setting in &points[0].scenario.point {
        let _ = write!(html, "<th>{}</th>", escape(&setting.path));
    }
    html.push_str("<th></th><th>verdict</th><th>connect</th>");
    for index in 0..expectations {
        let expectation = points
            .iter()
            .find_map(|point| point.verdicts.get(index))
            .map_or("", |verdict| verdict.expectation.as_str());
        let _ = write!(html, "<th>{}</th>", escape(expectation));
    }
    html.push_str("<th>report</th></tr>");
    for point in points {
        let (class, mark, verdict) = match (&point.error, point.passed) {
            (Some(_), _) => ("fail", "✗", "could not finish"),
            (None, true) => ("pass", "✓", "pass"),
            (None, false) => ("fail", "✗", "FAIL"),
        };
        let _ = write!(html, r#"<tr class="{class}">"#);
        for setting in &point.scenario.point {
            let _ = write!(html, "<td>{}</td>", escape(&setting.value));
        }
        let connect = point
            .metrics
            .as_ref()
            .and_then(|metrics| metrics.connect_time)
            .map_or("–".to_owned(), span);
        let _ = write!(
            html,
            r#"<td class="mark">{mark}</td><td>{verdict}</td><td class="num">{connect}</td>"#
        );
        for index in 0..expectations {
            match (point.verdicts.get(index), &point.error) {
                (Some(verdict), _) => {
                    let broken = if verdict.passed { "" } else { r#" class="broken""# };
                    let _ = write!(html, "<td{broken}>{}</td>", escape(&verdict.measured));
                }
                (None, Some(error)) if index == 0 => {
                    let _ = write!(
                        html,
                        r#"<td class="broken" colspan="{expectations}">{}</td>"#,
                        escape(error)
                    );
                }
                (None, Some(_)) => {}
                (None, None) => html.push_str("<td>–</td>"),
            }
        }
        let _ = write!(
            html,
            r#"<td><a href="{}">{}</a></td></tr>"#,
            escape(&link(point)),
            escape(&point.scenario.folder())
        );
    }
    html.push_str("</table>");
}

/// What the sweep page adds to [`STYLE`].
pub(super) const SWEEP_STYLE: &str = "
code { font-size: 12px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 14px 28px; }
.plots figure { margin: 0; }
.plots figcaption { font-size: 13px; color: #374151; }
.chart.sweep { margin-top: 2px; }
.chart .within { fill: #dcfce7; stroke: none; }
.chart .limit line { stroke: var(--pass); stroke-width: 1.2; stroke-dasharray: 5 3; }
.chart .limit text { fill: var(--pass); }
.chart .axis-name { font-size: 12px; font-weight: 600; fill: #111827; }
.chart .series { fill: none; stroke-width: 1.8; stroke-opacity: 0.8; }
.chart .mark .pt { stroke: #fff; stroke-width: 1.5; }
.chart .mark .ring { fill: none; stroke: var(--fail); stroke-width: 2.5; }
.chart .unmeasured { fill: none; stroke: var(--fail); stroke-width: 2.5; }
.chart a:hover .pt { stroke: #111827; }
.swatch.within { background: #dcfce7; border-color: #86efac; }
.dot.failed { background: #fff; border: 2.5px solid var(--fail); width: 6px; height: 6px; }
.cross { color: var(--fail); font-weight: 700; margin: 0 4px 0 6px; }
td.broken { color: var(--fail); font-weight: 600; }
.s0 { stroke: #2563eb; fill: #2563eb; background: #2563eb; border-color: #2563eb; }
.s1 { stroke: #ea580c; fill: #ea580c; background: #ea580c; border-color: #ea580c; }
.s2 { stroke: #7c3aed; fill: #7c3aed; background: #7c3aed; border-color: #7c3aed; }
.s3 { stroke: #0891b2; fill: #0891b2; background: #0891b2; border-color: #0891b2; }
.s4 { stroke: #ca8a04; fill: #ca8a04; background: #ca8a04; border-color: #ca8a04; }
.s5 { stroke: #db2777; fill: #db2777; background: #db2777; border-color: #db2777; }
.s6 { stroke: #4b5563; fill: #4b5563; background: #4b5563; border-color: #4b5563; }
.s7 { stroke: #65a30d; fill: #65a30d; background: #65a30d; border-color: #65a30d; }
";

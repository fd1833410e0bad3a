//! `<scenario>/index.html` for a scenario played over seeds: the question such a run asks is
//! how often each expectation held and how far its measure spread, so the page plots each
//! expectation's measure per seed, its limits as a band and each seed marked passed or
//! failed (a link to that seed's own page, `../<scenario>_seed-<N>/index.html`), and a table
//! holds the distribution: the share of seeds held, min, p50, p95, max. Like the other
//! pages, it has no script, font or external asset.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::chart::{self, Series, SweepAxis, SweepMark};
use super::html::{STYLE, escape, span};
use super::seeds::{Distribution, OverSeeds, Seeded};
use super::sweep::{self, SWEEP_STYLE};
use super::{Report, write_atomically};
use crate::scenario::expect::Unit;

/// Writes the page of one scenario's `runs` (one per seed) to `out/<folder>/index.html`,
/// the folder a file played once would have; returns its path.
pub fn write(out: &Path, runs: &[Report]) -> std::io::Result<PathBuf> {
    let dir = out.join(runs.first().map_or_else(String::new, |run| run.scenario.folder()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("index.html");
    write_atomically(&path, page(runs).as_bytes())?;
    Ok(path)
}

/// The page of one scenario's `runs`, one per seed, in seed order.
pub fn page(runs: &[Report]) -> String {
    let mut html = String::new();
    let Some(first) = runs.first() else {
        return html;
    };
    let over = OverSeeds::of(&runs.iter().map(Seeded::from).collect::<Vec<_>>());
    let scenario = &first.scenario;
    let badge = match over.held() {
        true => r#"<span class="badge pass">held</span>"#,
        false => r#"<span class="badge fail">FAILED</span>"#,
    };
    let harness = &first.harness;
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{name} · seeds · netsim</title><style>{STYLE}{SWEEP_STYLE}</style></head><body><main><header><h1>{name} over seeds {seeds} {badge}</h1><p class="meta">{file} · {count} seeds · {duration} call · {} {} · webrtc {}</p><p class="story">{story}</p></header>"#,
        harness.name,
        harness.version,
        harness.webrtc,
        name = escape(&scenario.name),
        seeds = over.range(),
        file = escape(&scenario.file.display().to_string()),
        count = runs.len(),
        duration = span(scenario.duration),
        story = escape(&scenario.description),
    );
    table(&mut html, runs, &over);
    html.push_str(r#"<h2>Expectations per seed</h2><div class="plots">"#);
    let axis = SweepAxis {
        name: "seed".to_owned(),
        values: over.seeds.iter().map(u64::to_string).collect(),
        numbers: Some(over.seeds.iter().map(|seed| *seed as f64).collect()),
    };
    for (index, expected) in over.expectations.iter().enumerate() {
        let marks = runs
            .iter()
            .enumerate()
            .map(|(at, run)| {
                let verdict = run.verdicts.get(index);
                let value = verdict.and_then(|verdict| verdict.value);
                SweepMark {
                    at,
                    point: format!("seed {}", run.scenario.seed),
                    value: value.map(|value| value.measured),
                    min: value.and_then(|value| value.min),
                    max: value.and_then(|value| value.max),
                    passed: verdict.is_some_and(|verdict| verdict.passed),
                    title: format!("seed {}: {}", run.scenario.seed, sweep::measure(run, verdict)),
                    href: link(run),
                }
            })
            .collect();
        let line = Series {
            label: String::new(),
            values: String::new(),
            marks,
        };
        let _ = write!(
            html,
            r#"<figure><figcaption><b>{}</b> · limit {} · {}</figcaption>{}</figure>"#,
            escape(&expected.expectation),
            escape(&expected.limit),
            expected.held_text(runs.len()),
            chart::sweep(&axis, &[line], expected.value.map(|(unit, _)| unit))
        );
    }
    html.push_str("</div></main></body></html>\n");
    html
}

/// A row per expectation (and the call's connect time): held on how many seeds, and the
/// distribution of its measure; the failing seeds link to their pages.
fn table(html: &mut String, runs: &[Report], over: &OverSeeds) {
    html.push_str(
        "<h2>Over the seeds</h2><table><tr><th>expectation</th><th>limit</th><th>held on</th><th>min</th><th>p50</th><th>p95</th><th>max</th><th>failed on</th></tr>",
    );
    let cells = |spread: Option<(Unit, Distribution)>| match spread {
        Some((unit, spread)) => [spread.min, spread.p50, spread.p95, spread.max]
            .map(|value| format!("<td>{}</td>", escape(&unit.show(value))))
            .concat(),
        None => "<td></td>".repeat(4),
    };
    let _ = write!(
        html,
        "<tr><td>connect_time (the call)</td><td></td><td>{} of {} seeds</td>{}<td></td></tr>",
        over.connected,
        runs.len(),
        cells(over.connect_time.map(|spread| (Unit::Seconds, spread)))
    );
    for expected in &over.expectations {
        let failed: Vec<String> = expected
            .failed_on
            .iter()
            .filter_map(|seed| runs.iter().find(|run| run.scenario.seed == *seed))
            .map(|run| format!(r#"<a href="{}">{}</a>"#, link(run), run.scenario.seed))
            .collect();
        let class = if expected.held(runs.len()) { "pass" } else { "fail" };
        let _ = write!(
            html,
            r#"<tr class="{class}"><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td></tr>"#,
            escape(&expected.expectation),
            escape(&expected.limit),
            expected.held_text(runs.len()),
            cells(expected.value),
            failed.join(" ")
        );
    }
    html.push_str("</table>");
}

/// The seed's own page, from the scenario's.
fn link(run: &Report) -> String {
    let scenario = &run.scenario;
    sweep::page_link(&super::seed_folder(
        &scenario.file,
        &scenario.point,
        scenario.seed,
    ))
}

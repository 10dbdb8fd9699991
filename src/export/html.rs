//! The HTML report for auditors: one self-contained file (inline CSS and SVG, a few lines
//! of inline script to sort the findings table, nothing fetched) with headline counts, the
//! findings, records per month against caps for every source, and the lineage graph
//! sources → datasets → models → applications. Everything shown comes from
//! [`report::build`], [`audit::volumes`] (the audit's volume section) and
//! [`lineage::overview`]; this module only draws.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::audit::{self, VolumePeriod};
use crate::error::Result;
use crate::lineage::{self, Lineage};
// The one HTML escaping rule of the program; `escape` is pure and imports nothing back.
use crate::output::escape::html as esc;
use crate::registry::{Registry, Source};
use crate::report::{self, Filter, Report};
use crate::verdict::Rules;

/// A built page and what it shows.
pub struct Page {
    /// The HTML text.
    pub html: String,
    /// Findings in its table.
    pub findings: usize,
    /// SVG charts in it (volume charts and the lineage graph).
    pub charts: usize,
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1d232a;background:#fff}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.muted{color:#57606a;font-size:.9rem}
.counts{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.count{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.count b{display:block;font-size:1.6rem}.count.bad b{color:#b3261e}
table{border-collapse:collapse;font-size:.88rem;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;cursor:pointer;user-select:none}th:after{content:' \\2195';color:#8c959f}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-weight:600;color:#b3261e}.verdict.permitted{color:#1a7f37}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}
svg text{font-family:system-ui,sans-serif}
.legend span{margin-right:1.2rem}
";

const SCRIPT: &str = "
document.querySelectorAll('table.sortable th').forEach(function(th,i){
  th.addEventListener('click',function(){
    var tb=th.closest('table').tBodies[0];var rows=Array.prototype.slice.call(tb.rows);
    var asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';
    rows.sort(function(a,b){
      var x=a.cells[i].textContent,y=b.cells[i].textContent;
      var nx=parseFloat(x.replace(/,/g,'')),ny=parseFloat(y.replace(/,/g,''));
      var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
      return asc?c:-c;});
    rows.forEach(function(r){tb.appendChild(r);});
  });
});
";

/// Builds the report page from the registry; `now` is the RFC 3339 time it was made.
pub fn build(reg: &dyn Registry, now: &str) -> Result<Page> {
    let report = report::build(reg, &Filter::default(), Rules::default())?;
    let sources = reg.sources()?;
    // A retracted version is counted nowhere; how many there are is shown.
    let (datasets, retracted): (Vec<_>, Vec<_>) = reg
        .datasets()?
        .into_iter()
        .partition(|d| d.retracted.is_none());
    let runs = reg.training_runs()?;
    let apps = reg.applications()?;
    let disclosures = reg.disclosures()?;
    let volumes = audit::volumes(reg)?;
    let graph = lineage::overview(reg)?;

    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>provtrack report</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n<h1>provtrack report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">Generated {} by provtrack {} from the registry. Licence terms of the built-in catalogue are defaults for triage, not legal advice.</p>",
        esc(now),
        env!("CARGO_PKG_VERSION")
    );

    // Headline counts.
    let undisclosed = apps.iter().filter(|a| !a.disclosed).count();
    // Each distinct shard once, however many versions (or paths) hold it — as every count
    // of content is made.
    let mut distinct: HashMap<blake3::Hash, u64> = HashMap::new();
    for d in &datasets {
        for m in reg.dataset_members(&d.dataset)? {
            distinct.insert(m.shard.hash, m.shard.records);
        }
    }
    let records: u64 = distinct.values().sum();
    let files = distinct.len() as u64;
    let counts: Vec<(&str, String, bool)> = vec![
        (
            "findings",
            report.findings.len().to_string(),
            !report.findings.is_empty(),
        ),
        ("sources", sources.len().to_string(), false),
        ("datasets", datasets.len().to_string(), false),
        ("retracted versions", retracted.len().to_string(), false),
        ("distinct shards", files.to_string(), false),
        ("records", records.to_string(), false),
        ("models", runs.len().to_string(), false),
        ("applications", apps.len().to_string(), false),
        ("undisclosed apps", undisclosed.to_string(), undisclosed > 0),
        ("disclosures", disclosures.len().to_string(), false),
    ];
    h.push_str("<section id=\"counts\"><div class=\"counts\">\n");
    for (label, n, bad) in counts {
        let _ = writeln!(
            h,
            "<div class=\"count{}\"><b>{}</b>{}</div>",
            if bad { " bad" } else { "" },
            esc(&n),
            esc(label)
        );
    }
    h.push_str("</div>\n");
    let mut by_verdict: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.findings {
        *by_verdict.entry(f.verdict.code()).or_default() += 1;
    }
    if !by_verdict.is_empty() {
        let parts: Vec<String> = by_verdict
            .iter()
            .map(|(v, n)| format!("{} {}", n, esc(v)))
            .collect();
        let _ = writeln!(h, "<p>Findings by verdict: {}.</p>", parts.join(", "));
    }
    h.push_str("</section>\n");

    findings_section(&mut h, &report);
    reservations_section(&mut h, reg)?;

    // Volume against caps.
    h.push_str("<section id=\"volume\">\n<h2>Records per month against caps</h2>\n");
    h.push_str("<p class=\"muted\">Each distinct shard counted once, in the month of its earliest collection by the org; red bars exceed the cap of the grant valid then (dashed line) or hold content collected outside any grant.</p>\n<div class=\"charts\">\n");
    let mut charts = 0;
    for (source, periods) in &volumes {
        charts += volume_charts(&mut h, source, periods);
    }
    if charts == 0 {
        h.push_str("<p>No content is attributed to any source yet.</p>\n");
    }
    h.push_str("</div>\n</section>\n");

    h.push_str(
        "<section id=\"lineage\">\n<h2>Lineage: sources → datasets → models → applications</h2>\n",
    );
    h.push_str("<p class=\"legend muted\"><span>━ content, training, use</span><span style=\"color:#b3261e\">╍ blocked: the training run has findings</span><span style=\"color:#b3261e\">▭ dashed red: application not disclosed to the source owners</span></p>\n");
    lineage_svg(&mut h, &graph);
    charts += 1;
    h.push_str("</section>\n<script>");
    h.push_str(SCRIPT);
    h.push_str("</script>\n</body>\n</html>\n");
    Ok(Page {
        html: h,
        findings: report.findings.len(),
        charts,
    })
}

/// The recorded rights reservations, each with what it covers for the policy's crawlers.
fn reservations_section(h: &mut String, reg: &dyn Registry) -> Result<()> {
    let all = reg.optouts()?;
    h.push_str("<section id=\"reservations\">\n<h2>Rights reservations (TDM opt-outs)</h2>\n");
    if all.is_empty() {
        h.push_str("<p>No opt-out evidence recorded (<code>provtrack optout import</code>): reservations are not judged.</p>\n</section>\n");
        return Ok(());
    }
    let agents = crate::rights::agents(&reg.crawlers()?);
    let _ = writeln!(
        h,
        "<p class=\"muted\">robots.txt judged for: {}. Judged per host: a reservation of some paths only is undecided.</p>",
        esc(&agents.join(", "))
    );
    h.push_str("<table class=\"sortable\"><thead><tr><th>host</th><th>date</th><th>protocol</th><th>covers</th><th>file</th></tr></thead><tbody>\n");
    for r in &all {
        let covers = match crate::rights::coverage(r, &agents) {
            crate::rights::Coverage::Host { agent } => format!("whole host ({agent})"),
            crate::rights::Coverage::Paths { agent, paths } => {
                format!("paths {} ({agent})", paths.join(" "))
            }
            crate::rights::Coverage::Nothing => "nothing for these crawlers".into(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.host),
            r.date,
            esc(r.protocol.title()),
            esc(&covers),
            esc(&r.origin)
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

fn findings_section(h: &mut String, report: &Report) {
    h.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    if report.findings.is_empty() {
        h.push_str("<p>No findings: every recorded use is permitted.</p>\n</section>\n");
        return;
    }
    h.push_str("<p class=\"muted\">Click a column to sort.</p>\n<table class=\"sortable\" id=\"findings-table\">\n<thead><tr>");
    for c in [
        "verdict", "use", "source", "dataset", "model", "grant", "licence", "shards", "records",
        "bytes", "detail",
    ] {
        let _ = write!(h, "<th>{c}</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let opt = |v: &Option<String>| esc(v.as_deref().unwrap_or("-")).into_owned();
    for f in &report.findings {
        let _ = writeln!(
            h,
            "<tr><td class=\"verdict {v}\">{v}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&f.use_),
            opt(&f.source),
            esc(&f
                .dataset
                .as_ref()
                .map_or_else(|| "-".into(), |d| d.to_string())),
            opt(&f.model),
            opt(&f.grant),
            opt(&f.licence),
            f.shards,
            f.records,
            f.bytes,
            esc(&f.detail),
            v = esc(f.verdict.code()),
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// One bar chart per org collecting the source's content; returns how many were drawn.
fn volume_charts(h: &mut String, source: &Source, volume: &[VolumePeriod]) -> usize {
    let mut by_org: BTreeMap<&str, Vec<&VolumePeriod>> = BTreeMap::new();
    for v in volume.iter().filter(|v| v.per == "month") {
        by_org.entry(v.org.as_str()).or_default().push(v);
    }
    for (org, periods) in &by_org {
        let (bar, gap, left, top, plot_h) = (46.0, 14.0, 64.0, 22.0, 150.0);
        let width = left + periods.len() as f64 * (bar + gap) + gap;
        let height = top + plot_h + 40.0;
        let max = periods
            .iter()
            .map(|p| p.records.max(p.cap.unwrap_or(0)))
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let y = |n: u64| top + plot_h - (n as f64 / max) * plot_h;
        let title = format!("{} ({}) collected by {}", source.name, source.id, org);
        let _ = writeln!(
            h,
            "<figure class=\"chart\"><figcaption>{}</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"{}\">",
            esc(&title),
            esc(&format!("records per month of {title}"))
        );
        let _ = writeln!(
            h,
            "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{b}\" stroke=\"#8c959f\"/><line x1=\"{left}\" y1=\"{b}\" x2=\"{width:.0}\" y2=\"{b}\" stroke=\"#8c959f\"/><text x=\"{tx}\" y=\"{ty}\" font-size=\"10\" text-anchor=\"end\">{max:.0}</text><text x=\"{tx}\" y=\"{b}\" font-size=\"10\" text-anchor=\"end\">0</text>",
            b = top + plot_h,
            tx = left - 6.0,
            ty = top + 4.0,
        );
        for (i, p) in periods.iter().enumerate() {
            let x = left + gap + i as f64 * (bar + gap);
            let bad = p.exceeded || p.outside_grant > 0;
            let color = if bad { "#b3261e" } else { "#4a7bd0" };
            let cap = p
                .cap
                .map(|c| format!(", cap {c} ({})", p.grant.as_deref().unwrap_or("-")))
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<rect x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{bar}\" height=\"{hh:.1}\" fill=\"{color}\"><title>{}</title></rect><text x=\"{cx:.1}\" y=\"{ly:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text><text x=\"{cx:.1}\" y=\"{py:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                esc(&format!(
                    "{}: {} records{cap}{}{}",
                    p.period,
                    p.records,
                    if p.exceeded {
                        format!(" — EXCEEDED by {}", p.over)
                    } else {
                        String::new()
                    },
                    match p.outside_grant {
                        0 => String::new(),
                        n => format!(" — {n} collected outside any grant"),
                    }
                )),
                p.records,
                esc(&p.period),
                yy = y(p.records),
                hh = top + plot_h - y(p.records),
                cx = x + bar / 2.0,
                ly = y(p.records) - 4.0,
                py = top + plot_h + 14.0,
            );
            if let Some(c) = p.cap {
                let _ = writeln!(
                    h,
                    "<line x1=\"{:.1}\" y1=\"{cy:.1}\" x2=\"{:.1}\" y2=\"{cy:.1}\" stroke=\"#1d232a\" stroke-width=\"2\" stroke-dasharray=\"4 3\"><title>cap {c} records per month</title></line>",
                    x - gap / 3.0,
                    x + bar + gap / 3.0,
                    cy = y(c),
                );
            }
        }
        h.push_str("</svg>");
        // Caps over a grant's whole window have no month to draw: said under the chart.
        for t in volume
            .iter()
            .filter(|v| v.per == "total" && v.org == *org && v.exceeded)
        {
            let _ = write!(
                h,
                "<p class=\"verdict\">total cap {} of grant {} exceeded by {} records</p>",
                t.cap.unwrap_or(0),
                esc(t.grant.as_deref().unwrap_or("-")),
                t.over
            );
        }
        h.push_str("</figure>\n");
    }
    by_org.len()
}

/// The lineage graph as an SVG: one column per kind of node, edges as curves.
fn lineage_svg(h: &mut String, g: &Lineage) {
    const KINDS: [&str; 5] = ["source", "dataset", "model", "application", "shard"];
    let (col_w, node_w, node_h, row_h, pad) = (250.0, 200.0, 30.0, 44.0, 20.0);
    let mut pos: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    let mut rows = [0usize; 5];
    for n in &g.nodes {
        let col = KINDS.iter().position(|k| *k == n.kind).unwrap_or(4);
        let (x, y) = (
            pad + 60.0 + col as f64 * col_w,
            pad + 24.0 + rows[col] as f64 * row_h,
        );
        rows[col] += 1;
        pos.insert(n.id.as_str(), (x, y));
    }
    let used = rows.iter().rposition(|r| *r > 0).map_or(1, |i| i + 1);
    let width = pad * 2.0 + 60.0 + (used as f64 - 1.0) * col_w + node_w;
    let height = pad * 2.0 + 24.0 + (*rows.iter().max().unwrap_or(&1)).max(1) as f64 * row_h;
    let _ = writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"lineage-graph\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"lineage graph\">"
    );
    for (i, k) in KINDS.iter().take(used).enumerate() {
        let _ = writeln!(
            h,
            "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" font-weight=\"600\" fill=\"#57606a\">{}s</text>",
            pad + 60.0 + i as f64 * col_w,
            pad + 8.0,
            k
        );
    }
    for e in &g.edges {
        let (Some(&(fx, fy)), Some(&(tx, ty))) = (pos.get(e.from.as_str()), pos.get(e.to.as_str()))
        else {
            continue;
        };
        let (fy, ty) = (fy + node_h / 2.0, ty + node_h / 2.0);
        let d = if (fx - tx).abs() < 1.0 {
            // Same column (a derived dataset): loop out to the left.
            format!(
                "M{fx:.1},{fy:.1} C{:.1},{fy:.1} {:.1},{ty:.1} {tx:.1},{ty:.1}",
                fx - 50.0,
                tx - 50.0
            )
        } else {
            let (sx, ex) = (fx + node_w, tx);
            let mid = (sx + ex) / 2.0;
            format!("M{sx:.1},{fy:.1} C{mid:.1},{fy:.1} {mid:.1},{ty:.1} {ex:.1},{ty:.1}")
        };
        let (stroke, extra, note) = if e.blocked {
            (
                "#b3261e",
                " stroke-width=\"2.5\" stroke-dasharray=\"6 4\" class=\"blocked\"",
                " — BLOCKED: findings",
            )
        } else {
            ("#8c959f", " stroke-width=\"1.5\"", "")
        };
        let _ = writeln!(
            h,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{stroke}\"{extra}><title>{}</title></path>",
            esc(&format!("{} → {} ({}){note}", e.from, e.to, e.kind))
        );
    }
    for n in &g.nodes {
        let Some(&(x, y)) = pos.get(n.id.as_str()) else {
            continue;
        };
        let undisclosed = n.disclosed == Some(false);
        let (fill, stroke, dash) = match (n.kind, undisclosed) {
            (_, true) => (
                "#fdecea",
                "#b3261e",
                " stroke-dasharray=\"5 3\" stroke-width=\"2\"",
            ),
            ("source", _) => ("#eef4ff", "#4a7bd0", ""),
            ("dataset", _) => ("#f6f8fa", "#57606a", ""),
            ("model", _) => ("#f3ecff", "#7a4cc2", ""),
            _ => ("#eafaef", "#1a7f37", ""),
        };
        let mut label = n.label.clone();
        if undisclosed {
            label.push_str(" (undisclosed)");
        }
        let shown: String = if label.chars().count() > 30 {
            label.chars().take(29).chain(std::iter::once('…')).collect()
        } else {
            label.clone()
        };
        let _ = writeln!(
            h,
            "<g class=\"node {kind}{u}\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{node_w}\" height=\"{node_h}\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\"{dash}/><text x=\"{tx:.1}\" y=\"{ty:.1}\" font-size=\"12\">{}</text><title>{}</title></g>",
            esc(&shown),
            esc(&format!("{} {}", n.kind, label)),
            kind = esc(n.kind),
            u = if undisclosed { " undisclosed" } else { "" },
            tx = x + 8.0,
            ty = y + 19.0,
        );
    }
    h.push_str("</svg>\n");
}

//! Charts drawn on the server as SVG (no JavaScript), each with its table: stacked bars of a
//! count per month. Small counts are withheld from both (drawn as nothing, written "moins de 5").

use guichet_domain::pilotage::public_count;

pub(crate) struct Barre {
    pub x: i64,
    pub y: i64,
    pub height: i64,
    pub class: &'static str,
}

pub(crate) struct Serie {
    pub label: &'static str,
    pub class: &'static str,
    pub values: Vec<i64>,
}

pub(crate) struct Graphique {
    /// The element id of the caption (the figure's accessible name).
    pub id: &'static str,
    pub title: String,
    pub bars: Vec<Barre>,
    pub bar_width: i64,
    /// Month labels under the bars: (x of the label's centre, text).
    pub ticks: Vec<(i64, String)>,
    /// The top of the scale, and its label.
    pub max_label: String,
    pub legend: Vec<(&'static str, &'static str)>,
    /// The table alternative: column headers, then one row per month.
    pub columns: Vec<&'static str>,
    pub rows: Vec<(String, Vec<String>)>,
}

pub(crate) const WIDTH: i64 = 600;
pub(crate) const HEIGHT: i64 = 200;
const LEFT: i64 = 40;
const BOTTOM: i64 = 20;

const MOIS: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];

/// "2026-03" → "mars 2026".
pub(crate) fn month_label(month: &str) -> String {
    let (y, m) = month.split_once('-').unwrap_or((month, "01"));
    let i = m.parse::<usize>().unwrap_or(1).clamp(1, 12) - 1;
    format!("{} {y}", MOIS[i])
}

/// A public count as written in a table: "moins de 5" from 1 to 4.
pub(crate) fn count(n: i64) -> String {
    match public_count(n) {
        Some(n) => n.to_string(),
        None => "moins de 5".into(),
    }
}

/// Stacked bars: one per month, one segment per series.
pub(crate) fn empile(
    id: &'static str,
    title: String,
    months: &[String],
    series: Vec<Serie>,
) -> Graphique {
    let shown = |v: i64| public_count(v).unwrap_or(0);
    let totals: Vec<i64> = (0..months.len())
        .map(|i| series.iter().map(|s| shown(s.values[i])).sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let slot = (WIDTH - LEFT) / months.len().max(1) as i64;
    let bar_width = (slot * 2 / 3).max(1);
    let plot = HEIGHT - BOTTOM;
    let mut bars = Vec::new();
    for i in 0..months.len() {
        let x = LEFT + i as i64 * slot + (slot - bar_width) / 2;
        let mut top = plot;
        for s in &series {
            let height = shown(s.values[i]) * (plot - 10) / max;
            if height > 0 {
                top -= height;
                bars.push(Barre {
                    x,
                    y: top,
                    height,
                    class: s.class,
                });
            }
        }
    }
    let ticks = months
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(i, m)| (LEFT + i as i64 * slot + slot / 2, month_label(m)))
        .collect();
    let mut columns = vec!["Mois"];
    columns.extend(series.iter().map(|s| s.label));
    let rows = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                month_label(m),
                series.iter().map(|s| count(s.values[i])).collect(),
            )
        })
        .collect();
    Graphique {
        id,
        title,
        bars,
        bar_width,
        ticks,
        max_label: max.to_string(),
        legend: series.iter().map(|s| (s.class, s.label)).collect(),
        columns,
        rows,
    }
}

//! The Dedup doctor's chart: the match rate per day as bars, laid out here so the
//! template only draws shapes (an inline SVG, readable without JavaScript; each bar's
//! `<title>` says the day's numbers).

use crate::browser::report::Day;

pub const WIDTH: f64 = 760.0;
pub const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// Under the threshold.
    pub low: bool,
    pub title: String,
}

pub struct Label {
    pub x: String,
    pub y: String,
    pub text: String,
}

pub struct Chart {
    pub bars: Vec<Bar>,
    /// Days with no server event: a grey tick on the axis.
    pub empty: Vec<Label>,
    pub x_labels: Vec<Label>,
    pub y_lines: Vec<(String, String)>,
    pub threshold_y: String,
    pub threshold_label: String,
    pub threshold_label_y: String,
    pub plot_left: String,
    pub plot_right: String,
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

fn percent(rate: f64) -> String {
    format!("{:.0} %", rate * 100.0)
}

/// Lays out `days` (the month so far) on `slots` days (the whole month), with the
/// tenant's alert `threshold` (0-1).
pub fn layout(days: &[Day], slots: usize, threshold: f64) -> Chart {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / slots.max(days.len()).max(1) as f64;
    let y_of = |rate: f64| TOP + plot_h * (1.0 - rate.clamp(0.0, 1.0));
    let mut bars = Vec::new();
    let mut empty = Vec::new();
    let mut x_labels = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        if day.server > 0 {
            let rate = day.matched as f64 / day.server as f64;
            bars.push(Bar {
                x: px(x + slot * 0.15),
                y: px(y_of(rate)),
                width: px(slot * 0.7),
                height: px(plot_h * rate.clamp(0.0, 1.0)),
                low: rate < threshold,
                title: format!(
                    "{}: {} of {} server events matched ({}), {} browser events",
                    day.date,
                    day.matched,
                    day.server,
                    percent(rate),
                    day.browser
                ),
            });
        } else {
            empty.push(Label {
                x: px(x + slot * 0.5),
                y: px(TOP + plot_h),
                text: format!("{}: no server events", day.date),
            });
        }
    }
    for i in (0..slots.max(days.len())).filter(|i| *i == 0 || (i + 1) % 5 == 0) {
        x_labels.push(Label {
            x: px(LEFT + slot * (i as f64 + 0.5)),
            y: px(HEIGHT - 8.0),
            text: format!("{:02}", i + 1),
        });
    }
    let y_lines = [0.0, 0.5, 1.0]
        .iter()
        .map(|r| (px(y_of(*r)), percent(*r)))
        .collect();
    Chart {
        bars,
        empty,
        x_labels,
        y_lines,
        threshold_y: px(y_of(threshold)),
        threshold_label_y: px(y_of(threshold) - 4.0),
        threshold_label: format!("alert under {}", percent(threshold)),
        plot_left: px(LEFT),
        plot_right: px(WIDTH - RIGHT),
    }
}

/// Counts per day (the portal overview's events received) on the same axes: one bar per
/// day scaled to the busiest, a `<title>` with the day's number; no threshold line.
pub fn counts(days: &[(String, i64)], what: &str) -> Chart {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let most = days.iter().map(|d| d.1).max().unwrap_or(0).max(1) as f64;
    let slot = plot_w / days.len().max(1) as f64;
    let y_of = |n: f64| TOP + plot_h * (1.0 - n / most);
    let mut chart = Chart {
        bars: Vec::new(),
        empty: Vec::new(),
        x_labels: Vec::new(),
        y_lines: [0.0, most / 2.0, most]
            .iter()
            .map(|n| (px(y_of(*n)), format!("{n:.0}")))
            .collect(),
        threshold_y: px(TOP + plot_h),
        threshold_label: String::new(),
        threshold_label_y: px(TOP + plot_h),
        plot_left: px(LEFT),
        plot_right: px(WIDTH - RIGHT),
    };
    for (i, (date, n)) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        chart.bars.push(Bar {
            x: px(x + slot * 0.15),
            y: px(y_of(*n as f64)),
            width: px(slot * 0.7),
            height: px(plot_h * *n as f64 / most),
            low: false,
            title: format!("{date}: {n} {what}"),
        });
        if i % 7 == 0 || i + 1 == days.len() {
            chart.x_labels.push(Label {
                x: px(x + slot * 0.5),
                y: px(HEIGHT - 8.0),
                text: date.get(5..).unwrap_or(date).to_string(),
            });
        }
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, server: i64, matched: i64) -> Day {
        Day {
            date: date.into(),
            server,
            browser: matched,
            matched,
        }
    }

    #[test]
    fn a_bar_per_day_with_server_events_scaled_to_its_match_rate() {
        let days = [
            day("2026-12-01", 10, 9),
            day("2026-12-02", 0, 0),
            day("2026-12-03", 4, 1),
        ];
        let chart = layout(&days, 31, 0.8);
        assert_eq!(chart.bars.len(), 2);
        assert_eq!(chart.empty.len(), 1);
        assert!(!chart.bars[0].low && chart.bars[1].low);
        assert!(chart.bars[0].title.contains("9 of 10") && chart.bars[0].title.contains("90 %"));
        let full: f64 = HEIGHT - TOP - BOTTOM;
        assert_eq!(chart.bars[0].height, px(full * 0.9));
        let labels: Vec<&str> = chart.x_labels.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            labels,
            ["01", "05", "10", "15", "20", "25", "30"],
            "the whole month"
        );
        assert_eq!(chart.threshold_label, "alert under 80 %");
    }

    #[test]
    fn counts_scale_to_the_busiest_day() {
        let days = [("2026-12-01".to_string(), 4), ("2026-12-02".to_string(), 2)];
        let chart = counts(&days, "events");
        assert_eq!(chart.bars.len(), 2);
        assert_eq!(chart.bars[1].height, px((HEIGHT - TOP - BOTTOM) / 2.0));
        assert_eq!(chart.bars[0].title, "2026-12-01: 4 events");
    }
}

//! Per-channel seizures: the channels of the bipolar montage a TUSZ `.csv`
//! sees each seizure on (seiz-eeg keeps them), as ranges of stored samples.
//!
//! A `.csv` row names one TCP pair (`FP1-F7`) and a label; its seizure rows
//! become one [`ChannelSeizure`] each, placed on the samples as
//! [`super::sample_labels`] places intervals. A file whose rows name no
//! channel but `TERM` (`.csv_bi`), or none (`.tse`), says nothing per channel.

use serde::{Deserialize, Serialize};

use super::BACKGROUND;
use super::annotation::Event;
use super::samples::first_at_or_after;

/// The channel name of a row that covers every channel (`.csv_bi`).
const ALL_CHANNELS: &str = "TERM";

/// One seizure row of a per-channel annotation, on the stored samples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSeizure {
    /// The channel as the file names it (`FP1-F7`), upper-cased.
    pub channel: String,
    /// First stored sample inside.
    pub start: u64,
    /// First stored sample past the end (`start < stop`).
    pub stop: u64,
    /// The row's type code ([`super::TYPE_CODES`]).
    pub code: u8,
}

/// The seizure rows of `events` that name a channel, on `n_samples` samples
/// at `fs` Hz, sorted by channel and start; rows that fall outside the
/// recording are left out. `None` when no row names a channel other than
/// `TERM`: the file says nothing per channel.
pub fn channel_seizures(
    events: &[Event],
    n_samples: usize,
    fs: f64,
) -> Option<Vec<ChannelSeizure>> {
    let per_channel = |e: &&Event| {
        e.channel
            .as_deref()
            .is_some_and(|c| !c.eq_ignore_ascii_case(ALL_CHANNELS))
    };
    if !events.iter().any(|e| per_channel(&e)) {
        return None;
    }
    let mut out: Vec<ChannelSeizure> = events
        .iter()
        .filter(per_channel)
        .filter(|e| e.code != BACKGROUND && e.start < e.stop)
        .filter_map(|e| {
            let start = first_at_or_after(e.start, n_samples, fs);
            let stop = first_at_or_after(e.stop, n_samples, fs);
            (start < stop).then(|| ChannelSeizure {
                channel: e
                    .channel
                    .as_deref()
                    .unwrap_or_default()
                    .to_ascii_uppercase(),
                start: start as u64,
                stop: stop as u64,
                code: e.code,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.channel, a.start).cmp(&(&b.channel, b.start)));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(channel: Option<&str>, start: f64, stop: f64, code: u8) -> Event {
        Event {
            channel: channel.map(str::to_owned),
            start,
            stop,
            label: String::new(),
            code,
            line: 1,
        }
    }

    #[test]
    fn seizure_rows_of_named_channels_on_the_samples() {
        let events = [
            row(Some("FP1-F7"), 0.0, 36.8868, 0),
            row(Some("FP1-F7"), 36.8868, 183.3055, 5),
            row(Some("f7-t3"), 40.0, 50.0, 2),
            row(Some("F7-T3"), 500.0, 600.0, 2), // past the end
            row(Some("TERM"), 0.0, 200.0, 1),
        ];
        let got = channel_seizures(&events, 256 * 190, 256.0).unwrap();
        // ceil(36.8868 * 256) = 9444, ceil(183.3055 * 256) = 46927.
        assert_eq!(
            got,
            [
                ChannelSeizure {
                    channel: "F7-T3".into(),
                    start: 10240,
                    stop: 12800,
                    code: 2
                },
                ChannelSeizure {
                    channel: "FP1-F7".into(),
                    start: 9444,
                    stop: 46927,
                    code: 5
                },
            ]
        );
    }

    #[test]
    fn files_without_channels_say_nothing_per_channel() {
        assert_eq!(
            channel_seizures(&[row(Some("TERM"), 0.0, 10.0, 1)], 100, 10.0),
            None
        );
        assert_eq!(
            channel_seizures(&[row(None, 0.0, 10.0, 1)], 100, 10.0),
            None
        );
        assert_eq!(channel_seizures(&[], 100, 10.0), None);
        // Channel rows all background: known, and no seizure on any channel.
        assert_eq!(
            channel_seizures(&[row(Some("FP1-F7"), 0.0, 10.0, 0)], 100, 10.0),
            Some(vec![])
        );
    }
}

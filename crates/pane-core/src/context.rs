//! The context window and cost: how full the model's window is (the header's meter), when
//! compression comes, and what a turn cost — from the usage the backend reports (`metering`
//! while a turn runs, `done.usage` after it, the session's fields after a reload).

use crate::event::Usage;
use crate::view::fixed;

/// How full the context window is.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextMeter {
    /// Tokens the next request will carry (the post-compression estimate when there is one).
    pub used: f64,
    /// The model's window.
    pub window: f64,
    /// `used / window` in whole percent, capped at 100.
    pub percent: u32,
    /// Where auto-compression starts, in whole percent of the window.
    pub threshold_percent: Option<u32>,
    pub level: Level,
    /// "Context 23% · 30.1k of 131k tokens · compresses at 85%".
    pub label: String,
}

/// How close to full: the meter's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Low,
    Mid,
    High,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Mid => "mid",
            Level::High => "high",
        }
    }
}

/// The meter for `u`, or `None` when the backend did not say both the window and what fills
/// it (the stock UI guesses a 128K window; a wrong meter is worse than none).
pub fn meter(u: &Usage) -> Option<ContextMeter> {
    let window = u.context_length.filter(|w| *w > 0.0)?;
    let used = u
        .post_compression_context_tokens_estimate
        .filter(|t| *t > 0.0)
        .or(u.last_prompt_tokens.filter(|t| *t > 0.0))?;
    let percent = ((used / window * 100.0).round() as u32).min(100);
    let threshold_percent = u
        .threshold_tokens
        .filter(|t| *t > 0.0)
        .map(|t| ((t / window * 100.0).round() as u32).min(100));
    // Colours follow how close compression is when the backend says where it starts.
    let level = match threshold_percent {
        Some(t) if percent >= t => Level::High,
        Some(t) if percent * 10 >= t * 6 => Level::Mid,
        Some(_) => Level::Low,
        None if percent > 75 => Level::High,
        None if percent > 50 => Level::Mid,
        None => Level::Low,
    };
    let mut label = format!(
        "Context {percent}% · {} of {} tokens",
        tokens(used),
        tokens(window)
    );
    if let Some(t) = threshold_percent {
        label.push_str(&format!(" · compresses at {t}%"));
    }
    Some(ContextMeter {
        used,
        window,
        percent,
        threshold_percent,
        level,
        label,
    })
}

/// `1234` → `1.2k`, `3400000` → `3.4M`.
pub fn tokens(n: f64) -> String {
    if n >= 1e6 {
        format!("{}M", fixed(n / 1e6, 1))
    } else if n >= 1e3 {
        format!("{}k", fixed(n / 1e3, 1))
    } else {
        format!("{}", n.max(0.0) as u64)
    }
}

/// A cost in dollars: `~$0.0123` under a cent, `~$1.25` above.
pub fn cost(dollars: f64) -> String {
    if dollars < 0.01 {
        format!("~${}", fixed(dollars, 3)).replace("~$0.000", "<$0.001")
    } else {
        format!("~${}", fixed(dollars, 2))
    }
}

/// Merges what is known of the context, newest first: `live` (this turn's `metering`), the
/// last `done`, the session as saved. Each field is the first one given.
pub fn merged(layers: &[Option<&Usage>]) -> Usage {
    let mut u = Usage::default();
    for l in layers.iter().flatten() {
        macro_rules! take {
            ($($f:ident),*) => {$( if u.$f.is_none() { u.$f = l.$f; } )*};
        }
        take!(
            context_length,
            threshold_tokens,
            last_prompt_tokens,
            post_compression_context_tokens_estimate,
            estimated_cost,
            input_tokens,
            output_tokens
        );
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(window: f64, used: f64, threshold: Option<f64>) -> Usage {
        Usage {
            context_length: Some(window),
            last_prompt_tokens: Some(used),
            threshold_tokens: threshold,
            ..Default::default()
        }
    }

    #[test]
    fn the_meter_shows_how_full_the_window_is_and_when_compression_comes() {
        let m = meter(&usage(131072.0, 30100.0, Some(111411.0))).unwrap();
        assert_eq!(m.percent, 23);
        assert_eq!(m.threshold_percent, Some(85));
        assert_eq!(m.level, Level::Low);
        assert_eq!(
            m.label,
            "Context 23% · 30.1k of 131.1k tokens · compresses at 85%"
        );
        assert_eq!(
            meter(&usage(100.0, 60.0, Some(85.0))).unwrap().level,
            Level::Mid
        );
        assert_eq!(
            meter(&usage(100.0, 90.0, Some(85.0))).unwrap().level,
            Level::High
        );
        assert_eq!(meter(&usage(100.0, 250.0, None)).unwrap().percent, 100);
    }

    #[test]
    fn no_meter_without_a_window_or_a_prompt_size() {
        assert_eq!(meter(&Usage::default()), None);
        let mut u = usage(0.0, 10.0, None);
        assert_eq!(meter(&u), None);
        u.context_length = Some(1000.0);
        u.last_prompt_tokens = None;
        assert_eq!(meter(&u), None);
        // After compression the estimate of the next request is what counts.
        u.post_compression_context_tokens_estimate = Some(100.0);
        assert_eq!(meter(&u).unwrap().percent, 10);
    }

    #[test]
    fn newer_usage_wins_field_by_field() {
        let live = Usage {
            last_prompt_tokens: Some(50.0),
            ..Default::default()
        };
        let saved = usage(1000.0, 10.0, Some(800.0));
        let m = merged(&[Some(&live), None, Some(&saved)]);
        assert_eq!(m.last_prompt_tokens, Some(50.0));
        assert_eq!(m.context_length, Some(1000.0));
    }

    #[test]
    fn costs_and_token_counts_read_short() {
        assert_eq!(cost(0.0123), "~$0.01");
        assert_eq!(cost(0.004), "~$0.004");
        assert_eq!(cost(0.0001), "<$0.001");
        assert_eq!(cost(1.254), "~$1.25");
        assert_eq!(tokens(999.0), "999");
        assert_eq!(tokens(1234.0), "1.2k");
        assert_eq!(tokens(3_400_000.0), "3.4M");
    }
}

//! Latency histograms: HdrHistogram with 3 significant figures, recorded in
//! microseconds, carried in summaries in a mergeable form (HdrHistogram's
//! V2 serialization, base64), so that percentiles across seeds come from
//! the merged histogram, never from averaging per-seed percentiles.

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

use crate::summary::LatencyMs;

/// A latency histogram in microseconds.
pub type LatencyHistogram = Histogram<u64>;

/// An empty latency histogram: 3 significant figures, auto-resizing, so a
/// latency is never refused for being large.
pub fn new_latency_histogram() -> LatencyHistogram {
    Histogram::new(3).expect("3 significant figures is within hdrhistogram's range")
}

/// Record `latency_ns`, rounded down to microseconds (0 is a value too: a
/// request refused at once took no time).
pub fn record_ns(h: &mut LatencyHistogram, latency_ns: u64) {
    let us = latency_ns / 1_000;
    if h.record(us).is_err() {
        h.saturating_record(us);
    }
}

/// Why an encoded histogram could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum HistogramDecodeError {
    #[error("not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("not an HdrHistogram V2 serialization: {0:?}")]
    Format(hdrhistogram::serialization::DeserializeError),
}

/// The histogram as base64 of its V2 serialization (HdrHistogram's
/// interchange format: readable by the Java, Go, Python and JS ports).
pub fn encode(h: &LatencyHistogram) -> String {
    let mut bytes = Vec::new();
    V2Serializer::new().serialize(h, &mut bytes).expect("serializing into a Vec cannot fail");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Read back what [`encode`] wrote.
pub fn decode(text: &str) -> Result<LatencyHistogram, HistogramDecodeError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
    let mut h: LatencyHistogram =
        Deserializer::new().deserialize(&mut bytes.as_slice()).map_err(HistogramDecodeError::Format)?;
    h.auto(true);
    Ok(h)
}

/// Merge `from` into `into` (auto-resizing: no value is lost).
pub fn merge(into: &mut LatencyHistogram, from: &LatencyHistogram) {
    if into.add(from).is_err() {
        // Only reachable if auto-resize were off; record value by value.
        for v in from.iter_recorded() {
            into.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// Percentiles of a latency histogram in milliseconds; `None` when empty
/// (missing data is `null`, never 0).
pub fn latency_ms(h: &LatencyHistogram) -> Option<LatencyMs> {
    if h.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1_000.0;
    Some(LatencyMs {
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
        mean: libm::round(h.mean()) / 1_000.0,
        count: h.len(),
    })
}

/// Whether `count` samples support the `quantile` (e.g. 0.999): at least
/// one sample must lie beyond it, so n * (1 - q) >= 1; otherwise the
/// "percentile" is just the maximum (or close to it) and reports mark it.
pub fn supports_quantile(count: u64, quantile: f64) -> bool {
    (count as f64) * (1.0 - quantile) >= 1.0 - 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_merge() {
        let mut a = new_latency_histogram();
        let mut b = new_latency_histogram();
        for i in 1..=1000u64 {
            record_ns(&mut a, i * 1_000_000); // 1..1000 ms
        }
        record_ns(&mut b, 5_000_000_000); // 5 s
        let a2 = decode(&encode(&a)).unwrap();
        assert_eq!(a2.len(), 1000);
        assert_eq!(a2.value_at_quantile(0.5), a.value_at_quantile(0.5));
        let mut m = a2;
        merge(&mut m, &decode(&encode(&b)).unwrap());
        assert_eq!(m.len(), 1001);
        let l = latency_ms(&m).unwrap();
        // 3 significant figures: 5 s is recorded within 0.1%.
        assert!((l.max - 5000.0).abs() / 5000.0 < 1e-3, "{l:?}");
        assert_eq!(l.count, 1001);
    }

    #[test]
    fn empty_is_none_and_support_rule() {
        assert!(latency_ms(&new_latency_histogram()).is_none());
        assert!(!supports_quantile(200, 0.999));
        assert!(supports_quantile(1000, 0.999));
        assert!(supports_quantile(100, 0.99));
        assert!(!supports_quantile(99, 0.99));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(decode("!!!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }
}

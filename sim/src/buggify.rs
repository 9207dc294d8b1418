//! BUGGIFY fault points, after FoundationDB's simulator: code marks places
//! where a rare but legal thing may happen (`if ctx.buggify(SITE) { .. }`);
//! in a run, each site is enabled or not from the seed alone, and an
//! enabled site fires with `fire_probability` each time it is reached.
//!
//! A site's enablement is a hash of (seed, site), not a draw, so it does
//! not depend on which sites are reached first; firing draws from the
//! run's own `buggify` stream.

use crate::dist::unit_f64;
use crate::rng::{StreamRng, splitmix64, stream};

/// How fault points behave in a run.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct BuggifyConfig {
    /// `false`: no site ever fires.
    pub enabled: bool,
    /// Chance that a given site is enabled for a run (FoundationDB: 25%).
    pub site_probability: f64,
    /// Chance that an enabled site fires when reached (FoundationDB: 25%).
    pub fire_probability: f64,
}

impl Default for BuggifyConfig {
    fn default() -> Self {
        BuggifyConfig { enabled: true, site_probability: 0.25, fire_probability: 0.25 }
    }
}

impl BuggifyConfig {
    /// Fault points off.
    pub fn off() -> Self {
        BuggifyConfig { enabled: false, ..BuggifyConfig::default() }
    }
}

/// The fault points of one run.
#[derive(Debug)]
pub struct Buggify {
    config: BuggifyConfig,
    seed: u64,
    rng: StreamRng,
    /// Times any site fired.
    pub fired: u64,
    /// Times each site fired (fires are rare: a small ordered map).
    fired_by_site: std::collections::BTreeMap<u64, u64>,
}

impl Buggify {
    pub fn new(seed: u64, config: BuggifyConfig) -> Self {
        Buggify { config, seed, rng: stream(seed, "buggify"), fired: 0, fired_by_site: Default::default() }
    }

    /// Whether fault points are on at all (a cheap check for hot paths).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.config.enabled
    }

    /// Whether `site` is enabled in this run.
    pub fn site_enabled(&self, site: u64) -> bool {
        if !self.config.enabled {
            return false;
        }
        let mut state = self.seed ^ site.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let x = splitmix64(&mut state);
        ((x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) < self.config.site_probability
    }

    /// Whether `site` fires now.
    #[inline]
    pub fn fires(&mut self, site: u64) -> bool {
        if !self.config.enabled || !self.site_enabled(site) {
            return false;
        }
        let fire = unit_f64(&mut self.rng) < self.config.fire_probability;
        if fire {
            self.fired += 1;
            *self.fired_by_site.entry(site).or_insert(0) += 1;
        }
        fire
    }

    /// Fires per site, by site id.
    pub fn fired_by_site(&self) -> &std::collections::BTreeMap<u64, u64> {
        &self.fired_by_site
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_never_fires() {
        let mut b = Buggify::new(1, BuggifyConfig::off());
        assert!((0..1000).all(|site| !b.fires(site)));
    }

    #[test]
    fn about_a_quarter_of_sites_are_enabled_and_fire_about_a_quarter_of_the_time() {
        let b = Buggify::new(7, BuggifyConfig::default());
        let enabled = (0..10_000).filter(|&s| b.site_enabled(s)).count();
        assert!((enabled as f64 / 10_000.0 - 0.25).abs() < 0.02, "{enabled}");
        let site = (0..).find(|&s| b.site_enabled(s)).unwrap();
        let mut b = b;
        let fired = (0..10_000).filter(|_| b.fires(site)).count();
        assert!((fired as f64 / 10_000.0 - 0.25).abs() < 0.02, "{fired}");
        let never = (0..).find(|&s| !b.site_enabled(s)).unwrap();
        assert!((0..1000).all(|_| !b.fires(never)));
    }

    #[test]
    fn enablement_depends_on_the_seed_only() {
        let a = Buggify::new(3, BuggifyConfig::default());
        let b = Buggify::new(3, BuggifyConfig::default());
        let c = Buggify::new(4, BuggifyConfig::default());
        let sites: Vec<bool> = (0..64).map(|s| a.site_enabled(s)).collect();
        assert_eq!(sites, (0..64).map(|s| b.site_enabled(s)).collect::<Vec<_>>());
        assert_ne!(sites, (0..64).map(|s| c.site_enabled(s)).collect::<Vec<_>>());
    }
}

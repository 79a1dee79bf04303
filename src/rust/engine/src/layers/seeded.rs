//! The random generator of a layer given its own `seed`. Its position in
//! the ChaCha12 stream can be read and set, so a saved model resumes the
//! layer's random draws exactly where they stopped.

use std::sync::Mutex;

use rand::rngs::ChaCha12Rng;
use rand::SeedableRng;

#[derive(Debug)]
pub struct SeededGenerator {
    seed: u64,
    rng: Mutex<ChaCha12Rng>,
}

impl SeededGenerator {
    /// Creates the generator at the start of the stream of `seed`. The
    /// stream is the one `StdRng::seed_from_u64(seed)` gives in rand 0.10,
    /// whose `StdRng` is ChaCha12.
    pub fn new(seed: u64) -> SeededGenerator {
        SeededGenerator {
            seed,
            rng: Mutex::new(ChaCha12Rng::seed_from_u64(seed)),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Runs `f` with the generator locked.
    pub fn with<T>(&self, f: impl FnOnce(&mut ChaCha12Rng) -> T) -> T {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut rng)
    }

    /// Returns the number of 32-bit words drawn so far.
    pub fn position(&self) -> u128 {
        self.with(|rng| rng.get_word_pos())
    }

    /// Moves the generator to `position` words into the stream of its seed.
    pub fn set_position(&self, position: u128) {
        self.with(|rng| rng.set_word_pos(position));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::RngExt;

    #[test]
    fn stream_matches_std_rng() {
        let g = SeededGenerator::new(42);
        let mut std = StdRng::seed_from_u64(42);
        for _ in 0..100 {
            assert_eq!(g.with(|r| r.random::<f32>()), std.random::<f32>());
        }
    }

    #[test]
    fn position_restores_the_stream() {
        let g = SeededGenerator::new(7);
        for _ in 0..37 {
            g.with(|r| r.random::<f32>());
        }
        let position = g.position();
        let next: Vec<f32> = (0..50).map(|_| g.with(|r| r.random::<f32>())).collect();
        let h = SeededGenerator::new(7);
        h.set_position(position);
        let again: Vec<f32> = (0..50).map(|_| h.with(|r| r.random::<f32>())).collect();
        assert_eq!(next, again);
    }
}

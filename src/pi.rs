//! Monte Carlo estimation of pi, as the pi example and its benchmark do it:
//! each task draws a seeded stream of points in the unit square and counts
//! those inside the quarter circle. The same seeds give the same counts on
//! any machine, so a run can be checked exactly.

use cloudbutton_executor::{FnResult, Function, TaskContext};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The work of one task: how many points to draw, from which seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    /// Seeds the task's random stream.
    pub seed: u64,
    /// How many points the task draws.
    pub samples: u64,
}

/// `tasks` draws of `samples` points each, seeded 0, 1, 2, ...
pub fn draws(tasks: u64, samples: u64) -> Vec<Draw> {
    (0..tasks).map(|seed| Draw { seed, samples }).collect()
}

/// How many of the draw's points fall inside the unit circle.
pub fn count_inside(draw: Draw) -> u64 {
    let mut rng = SmallRng::seed_from_u64(draw.seed);
    let mut hits = 0;
    for _ in 0..draw.samples {
        let (x, y): (f64, f64) = (rng.random(), rng.random());
        hits += u64::from(x * x + y * y <= 1.0);
    }
    hits
}

/// The estimate of pi from `hits` of `samples` points.
pub fn estimate(hits: u64, samples: u64) -> f64 {
    4.0 * hits as f64 / samples as f64
}

fn count(draw: Draw, _: &TaskContext) -> FnResult<u64> {
    Ok(count_inside(draw))
}

/// The map function: one [`Draw`] in, the number of points inside out.
pub static COUNT_INSIDE: Function<Draw, u64> = Function::new("pi::count_inside", count);
cloudbutton_executor::register!(COUNT_INSIDE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_fixed_by_the_seed() {
        let draw = Draw {
            seed: 7,
            samples: 100_000,
        };
        assert_eq!(count_inside(draw), count_inside(draw));
        let other = Draw { seed: 8, ..draw };
        assert_ne!(count_inside(draw), count_inside(other));
        let pi = estimate(count_inside(draw), draw.samples);
        assert!((pi - std::f64::consts::PI).abs() < 0.02, "{pi}");
        assert_eq!(
            count_inside(Draw {
                seed: 1,
                samples: 0
            }),
            0
        );
    }
}

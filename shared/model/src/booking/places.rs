//! A session's places: the whole session, and optionally per age group.

use serde::{Deserialize, Serialize};

use super::AgeGroup;

/// A session's places: the whole session, and optionally per age group (the
/// regulations of accueils de loisirs count under-6 and over-6 children apart).
/// `held` counts the reservations that hold a place ([`super::holds_place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub capacity: u32,
    pub capacity_young: Option<u32>,
    pub capacity_old: Option<u32>,
    pub held: u32,
    pub held_young: u32,
    pub held_old: u32,
}

impl Capacity {
    /// Places left for a child of this age group: the smaller of the session's and
    /// the group's remainders.
    pub fn places_left(&self, group: AgeGroup) -> u32 {
        let total = self.capacity.saturating_sub(self.held);
        let remainder = match group {
            AgeGroup::Younger => self
                .capacity_young
                .map(|c| c.saturating_sub(self.held_young)),
            AgeGroup::Older => self.capacity_old.map(|c| c.saturating_sub(self.held_old)),
        };
        remainder.map_or(total, |g| g.min(total))
    }

    pub fn full(&self, group: AgeGroup) -> bool {
        self.places_left(group) == 0
    }

    /// The same session with one more place held by a child of `group`.
    pub fn taken(self, group: AgeGroup) -> Capacity {
        let (young, old) = group_counts(group);
        Capacity {
            held: self.held + 1,
            held_young: self.held_young + young,
            held_old: self.held_old + old,
            ..self
        }
    }

    /// The same session with a place of `group` given back.
    pub fn released(self, group: AgeGroup) -> Capacity {
        let (young, old) = group_counts(group);
        Capacity {
            held: self.held.saturating_sub(1),
            held_young: self.held_young.saturating_sub(young),
            held_old: self.held_old.saturating_sub(old),
            ..self
        }
    }

    /// Whether "full or not" (what the phones are told) differs for either group.
    pub fn fullness_differs(&self, other: &Capacity) -> bool {
        [AgeGroup::Younger, AgeGroup::Older]
            .into_iter()
            .any(|g| self.full(g) != other.full(g))
    }
}

fn group_counts(group: AgeGroup) -> (u32, u32) {
    match group {
        AgeGroup::Younger => (1, 0),
        AgeGroup::Older => (0, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smaller_remainder_wins() {
        let c = Capacity {
            capacity: 20,
            capacity_young: Some(8),
            capacity_old: Some(14),
            held: 17,
            held_young: 5,
            held_old: 12,
        };
        assert_eq!(c.places_left(AgeGroup::Younger), 3);
        assert_eq!(c.places_left(AgeGroup::Older), 2);
        let group_full = Capacity { held_young: 8, ..c };
        assert!(group_full.full(AgeGroup::Younger) && !group_full.full(AgeGroup::Older));
        let session_full = Capacity { held: 20, ..c };
        assert!(session_full.full(AgeGroup::Younger) && session_full.full(AgeGroup::Older));
        let no_split = Capacity {
            capacity_young: None,
            capacity_old: None,
            ..c
        };
        assert_eq!(no_split.places_left(AgeGroup::Younger), 3);
        // Counters above capacity (capacity lowered by staff) give zero, not a wrap.
        assert_eq!(Capacity { held: 25, ..c }.places_left(AgeGroup::Older), 0);
    }

    #[test]
    fn taking_and_releasing_places() {
        let c = Capacity {
            capacity: 2,
            capacity_young: None,
            capacity_old: None,
            held: 1,
            held_young: 0,
            held_old: 1,
        };
        let full = c.taken(AgeGroup::Younger);
        assert_eq!((full.held, full.held_young, full.held_old), (2, 1, 1));
        assert!(full.fullness_differs(&c));
        assert_eq!(full.released(AgeGroup::Younger), c);
        assert!(!c.fullness_differs(&c.released(AgeGroup::Older)));
    }
}

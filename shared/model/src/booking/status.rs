//! The vocabularies of bookings: a reservation's and a session's status, why a day
//! cannot be booked, the calendar legend, the pointage codes; and which colour a
//! cell shows.

use super::BookingWindow;

vocabulary! {
    /// A reservation as stored.
    ReservationStatus {
        Reserved => "reserved", "Réservée";
        /// Booked after the booking deadline: billed with a surcharge.
        LateBooked => "late_booked", "Inscription tardive";
        PendingApproval => "pending_approval", "En attente de validation";
        Waitlisted => "waitlisted", "Liste d'attente";
        Cancelled => "cancelled", "Annulée";
        /// Cancelled after the cancellation deadline: billed.
        LateCancelled => "late_cancelled", "Annulation tardive";
        Refused => "refused", "Refusée";
    }
}

impl ReservationStatus {
    /// Whether a reservation in this status holds a place (counts against capacity).
    pub fn holds_place(self) -> bool {
        matches!(
            self,
            ReservationStatus::Reserved
                | ReservationStatus::LateBooked
                | ReservationStatus::PendingApproval
        )
    }

    /// Holding a place or waiting for one: the child is "already booked" that day.
    pub fn is_live(self) -> bool {
        self.holds_place() || self == ReservationStatus::Waitlisted
    }

    /// Over: nothing more can happen to it (a new booking is a new reservation).
    pub fn is_ended(self) -> bool {
        matches!(
            self,
            ReservationStatus::Cancelled
                | ReservationStatus::LateCancelled
                | ReservationStatus::Refused
        )
    }
}

/// Whether a reservation in this status holds a place (counts against capacity).
pub fn holds_place(status: ReservationStatus) -> bool {
    status.holds_place()
}

vocabulary! {
    /// A session as the services set it.
    SessionStatus {
        Open => "open", "Ouverte";
        /// Closed by the services (no new booking); reservations stay.
        Closed => "closed", "Fermée";
        /// Cancelled: every reservation was cancelled without charge.
        Cancelled => "cancelled", "Annulée";
    }
}

vocabulary! {
    /// Why a child cannot book a session at all.
    BlockedBy {
        DocumentRequired => "document_required", "Document obligatoire à fournir";
        NotEligible => "not_eligible", "Activité non accessible à cet enfant";
        DossierPending => "dossier_pending", "Dossier en attente de validation";
        UnpaidInvoices => "unpaid_invoices", "Factures échues à régler";
    }
}

vocabulary! {
    /// The calendar legend parents know.
    CellState {
        Available => "available", "Disponible";
        Reserved => "reserved", "Inscrit (annulation possible)";
        ReservedLocked => "reserved_locked", "Inscrit (annulation impossible)";
        Late => "late", "Inscription tardive / annulation tardive";
        Cancelled => "cancelled", "Annulation";
        Full => "full", "Complet";
        Waitlisted => "waitlisted", "Inscrit liste d'attente";
        PendingApproval => "pending_approval", "En attente de validation";
        Closed => "closed", "Réservation fermée";
        Blocked => "blocked", "Bloqué";
    }
}

vocabulary! {
    /// Pointage codes of the guide.
    AttendanceCode {
        Present => "present", "P (présent)";
        Absent => "absent", "Ab (absence)";
        Excused => "excused", "AbE (absence excusée)";
        SchoolTrip => "school_trip", "S (sortie scolaire)";
        Surcharge => "surcharge", "M (majoration)";
        PresentUnbooked => "present_unbooked", "P (présent non inscrit)";
    }
}

/// What decides a cell's colour.
#[derive(Debug, Clone, Copy)]
pub struct CellInput {
    pub reservation: Option<ReservationStatus>,
    pub window: BookingWindow,
    /// Whether cancelling now would be late.
    pub cancellation_late: bool,
    pub full: bool,
    pub blocked: Option<BlockedBy>,
}

/// The legend's state of a cell. A reservation outranks a block that came later
/// (the booked child keeps the day).
pub fn cell_state(input: CellInput) -> CellState {
    match input.reservation {
        Some(ReservationStatus::Reserved) if input.cancellation_late => CellState::ReservedLocked,
        Some(ReservationStatus::Reserved) => CellState::Reserved,
        Some(ReservationStatus::LateBooked | ReservationStatus::LateCancelled) => CellState::Late,
        Some(ReservationStatus::PendingApproval) => CellState::PendingApproval,
        Some(ReservationStatus::Waitlisted) => CellState::Waitlisted,
        Some(ReservationStatus::Cancelled) => CellState::Cancelled,
        Some(ReservationStatus::Refused) | None => {
            if input.blocked.is_some() {
                CellState::Blocked
            } else {
                match input.window {
                    BookingWindow::NotYetOpen { .. } | BookingWindow::Closed => CellState::Closed,
                    BookingWindow::Open | BookingWindow::Late if input.full => CellState::Full,
                    BookingWindow::Open | BookingWindow::Late => CellState::Available,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn every_state_of_the_legend() {
        let base = CellInput {
            reservation: None,
            window: BookingWindow::Open,
            cancellation_late: false,
            full: false,
            blocked: None,
        };
        let with = |f: fn(&mut CellInput)| {
            let mut input = base;
            f(&mut input);
            cell_state(input)
        };
        assert_eq!(cell_state(base), CellState::Available);
        assert_eq!(with(|i| i.full = true), CellState::Full);
        assert_eq!(
            with(|i| i.window = BookingWindow::Closed),
            CellState::Closed
        );
        assert_eq!(
            with(|i| i.window = BookingWindow::NotYetOpen {
                opens_at: DateTime::<Utc>::MIN_UTC
            }),
            CellState::Closed
        );
        assert_eq!(
            with(|i| i.window = BookingWindow::Late),
            CellState::Available
        );
        assert_eq!(
            with(|i| i.blocked = Some(BlockedBy::DocumentRequired)),
            CellState::Blocked
        );
        // Each reservation status shows as the legend says.
        for (status, shown) in [
            (ReservationStatus::Reserved, CellState::Reserved),
            (ReservationStatus::LateBooked, CellState::Late),
            (ReservationStatus::LateCancelled, CellState::Late),
            (ReservationStatus::Cancelled, CellState::Cancelled),
            (ReservationStatus::Waitlisted, CellState::Waitlisted),
            (
                ReservationStatus::PendingApproval,
                CellState::PendingApproval,
            ),
        ] {
            let input = CellInput {
                reservation: Some(status),
                ..base
            };
            assert_eq!(cell_state(input), shown, "{status}");
        }
        assert_eq!(
            with(|i| {
                i.reservation = Some(ReservationStatus::Reserved);
                i.cancellation_late = true;
            }),
            CellState::ReservedLocked
        );
        // A reservation outranks a later block (the booked child keeps the day).
        assert_eq!(
            with(|i| {
                i.reservation = Some(ReservationStatus::Reserved);
                i.blocked = Some(BlockedBy::DocumentRequired);
            }),
            CellState::Reserved
        );
        // Every state of the legend is reachable.
        assert_eq!(CellState::ALL.len(), 10);
    }

    #[test]
    fn which_statuses_hold_a_place() {
        let holding: Vec<_> = ReservationStatus::ALL
            .iter()
            .filter(|s| s.holds_place())
            .collect();
        assert_eq!(
            holding,
            [
                &ReservationStatus::Reserved,
                &ReservationStatus::LateBooked,
                &ReservationStatus::PendingApproval
            ]
        );
        assert!(ReservationStatus::Waitlisted.is_live());
        for s in ReservationStatus::ALL {
            assert!(!(s.is_live() && s.is_ended()), "{s}");
        }
    }
}

//! The validity period asked for when creating the CA or issuing a certificate.
//!
//! Must never produce a period that ends before it begins; it does not judge whether a period
//! is wise (tests deliberately issue certificates that have already expired).

use time::{Duration, OffsetDateTime};

use crate::error::TlsError;

/// Default lifetime of the deployment CA: ten years.
pub const DEFAULT_CA_VALIDITY_DAYS: u32 = 3650;
/// Default lifetime of server and client certificates: 825 days, the longest that
/// mainstream TLS clients have accepted for leaf certificates.
pub const DEFAULT_LEAF_VALIDITY_DAYS: u32 = 825;

/// How long a certificate is valid: explicit bounds, a number of days, or (all `None`) the
/// default for its kind.
///
/// `not_after` and `days` are alternatives; giving both is an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validity {
    /// Start of validity; default: one hour ago.
    pub not_before: Option<OffsetDateTime>,
    /// End of validity.
    pub not_after: Option<OffsetDateTime>,
    /// Length of validity in days, counted from now (or from `not_before` if given).
    pub days: Option<u32>,
}

impl Validity {
    /// Valid for `days` days from now.
    pub fn days(days: u32) -> Self {
        Validity { days: Some(days), ..Validity::default() }
    }

    /// Valid exactly from `not_before` to `not_after`.
    pub fn between(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        Validity { not_before: Some(not_before), not_after: Some(not_after), days: None }
    }

    /// The concrete `(not_before, not_after)` of this request at time `now`.
    pub(crate) fn resolve(
        &self,
        default_days: u32,
        now: OffsetDateTime,
    ) -> Result<(OffsetDateTime, OffsetDateTime), TlsError> {
        // Backdated so that a domain controller whose clock lags a little behind the
        // machine that issued the certificate still accepts it at once.
        let not_before = self.not_before.unwrap_or(now - Duration::hours(1));
        let not_after = match (self.not_after, self.days) {
            (Some(_), Some(_)) => {
                return Err(TlsError::InvalidValidity {
                    reason: "give either an end date or a number of days, not both",
                })
            }
            (Some(not_after), None) => not_after,
            (None, Some(0)) => {
                return Err(TlsError::InvalidValidity { reason: "the number of days must be at least 1" })
            }
            (None, days) => {
                let start = self.not_before.unwrap_or(now);
                start + Duration::days(i64::from(days.unwrap_or(default_days)))
            }
        };
        if not_after <= not_before {
            return Err(TlsError::InvalidValidity {
                reason: "the end of validity must come after its start",
            });
        }
        Ok((not_before, not_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-10 08:00:00 UTC);

    #[test]
    fn default_is_backdated_one_hour_and_lasts_the_default_days() {
        let (not_before, not_after) = Validity::default().resolve(825, NOW).unwrap();
        assert_eq!(not_before, datetime!(2026-01-10 07:00:00 UTC));
        assert_eq!(not_after, NOW + Duration::days(825));
    }

    #[test]
    fn days_count_from_an_explicit_start() {
        let validity = Validity {
            not_before: Some(datetime!(2026-02-01 00:00:00 UTC)),
            days: Some(10),
            ..Validity::default()
        };
        let (_, not_after) = validity.resolve(825, NOW).unwrap();
        assert_eq!(not_after, datetime!(2026-02-11 00:00:00 UTC));
    }

    #[test]
    fn explicit_bounds_in_the_past_are_allowed() {
        let validity =
            Validity::between(datetime!(2025-01-01 00:00:00 UTC), datetime!(2025-06-01 00:00:00 UTC));
        assert_eq!(
            validity.resolve(825, NOW).unwrap(),
            (datetime!(2025-01-01 00:00:00 UTC), datetime!(2025-06-01 00:00:00 UTC))
        );
    }

    #[test]
    fn end_before_start_is_refused() {
        let validity = Validity::between(NOW, NOW - Duration::days(1));
        assert!(matches!(validity.resolve(825, NOW), Err(TlsError::InvalidValidity { .. })));
    }

    #[test]
    fn zero_days_is_refused() {
        assert!(matches!(Validity::days(0).resolve(825, NOW), Err(TlsError::InvalidValidity { .. })));
    }

    #[test]
    fn end_date_and_days_together_are_refused() {
        let validity =
            Validity { not_after: Some(NOW + Duration::days(3)), days: Some(3), ..Validity::default() };
        assert!(matches!(validity.resolve(825, NOW), Err(TlsError::InvalidValidity { .. })));
    }
}

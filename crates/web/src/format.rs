//! How times are shown to people: French time (Europe/Paris, summer time included), whatever the
//! server's own zone. Machine formats (API, exports' ISO columns) stay UTC and say so
//! (`guichet_store::rfc3339`).

use jiff::Timestamp;

pub use guichet_store::paris;

fn zoned(ms: i64) -> jiff::ZonedDateTime {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(paris().clone())
}

/// "23/11/2026 à 14:05", in French time.
pub fn format_ms(ms: i64) -> String {
    zoned(ms).strftime("%d/%m/%Y à %H:%M").to_string()
}

/// "23/11/2026": the day of a time in French time, for deadlines.
pub fn format_day(ms: i64) -> String {
    zoned(ms).strftime("%d/%m/%Y").to_string()
}

/// "14:05": the hour of a time in French time.
pub fn format_hour(ms: i64) -> String {
    zoned(ms).strftime("%H:%M").to_string()
}

/// The calendar day in Paris at this time: what "today" means for a resident.
pub fn paris_date(ms: i64) -> time::Date {
    let z = zoned(ms);
    time::Month::try_from(z.month() as u8)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(i32::from(z.year()), m, z.day() as u8).ok())
        .unwrap_or(time::Date::MIN)
}

/// The instant a calendar day starts in Paris (midnight, summer time included), in ms UTC.
pub fn paris_midnight(day: time::Date) -> i64 {
    jiff::civil::date(
        day.year() as i16,
        u8::from(day.month()) as i8,
        day.day() as i8,
    )
    .to_zoned_datetime(paris().clone())
    .map(|z| z.timestamp().as_millisecond())
    .unwrap_or_else(|_| day.midnight().assume_utc().unix_timestamp() * 1000)
}

/// Today in Paris.
pub fn paris_today() -> time::Date {
    paris_date(guichet_store::now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winter_and_summer_time_are_paris_time() {
        // 1 December 2026 09:30 UTC is 10:30 in Paris (UTC+1).
        let winter = 1_796_117_400_000;
        assert_eq!(format_ms(winter), "01/12/2026 à 10:30");
        // 1 July 2026 09:30 UTC is 11:30 in Paris (UTC+2).
        let summer = 1_782_898_200_000;
        assert_eq!(format_ms(summer), "01/07/2026 à 11:30");
        assert_eq!(format_hour(summer), "11:30");
    }

    #[test]
    fn a_late_evening_in_utc_is_already_the_next_day_in_paris() {
        // 31 December 2026 23:30 UTC is 1 January 2027 00:30 in Paris.
        assert_eq!(format_day(1_798_759_800_000), "01/01/2027");
        assert_eq!(
            paris_date(1_798_759_800_000),
            time::macros::date!(2027 - 01 - 01)
        );
        // 1 January 2027 starts at 23:00 UTC the day before; 1 July 2026 at 22:00 UTC.
        assert_eq!(
            paris_midnight(time::macros::date!(2027 - 01 - 01)),
            1_798_758_000_000
        );
        assert_eq!(
            paris_midnight(time::macros::date!(2026 - 07 - 01)),
            1_782_856_800_000
        );
    }
}

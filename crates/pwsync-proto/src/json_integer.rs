//! Integers as JSON Schema (and so docs/api/openapi.yaml) defines them: any number with a zero
//! fractional part, `7`, `7.0` or `7e0` alike. serde's own `i64` and `u64` refuse `7.0`, so a
//! client that writes its integers as floats (JavaScript, many JSON libraries) would be refused
//! a request the API document allows.
//!
//! Used with `#[serde(deserialize_with)]` on every integer field of a request. It must never
//! round: a number with a fraction, or outside the type's range, is refused as a wrong type.

use serde::de::{Deserializer, Error, Unexpected, Visitor};

/// 2^63 and 2^64 are exact as f64. Both bounds are exclusive, also -2^63: serde_json reads an
/// integer literal outside the type's range as the nearest f64, and -9223372036854775809 is
/// read as -2^63 itself, which must not pass for i64::MIN (written as an integer, i64::MIN is
/// read exactly and accepted).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
const TWO_POW_32: f64 = 4_294_967_296.0;

struct IntegerVisitor<T>(std::marker::PhantomData<T>);

macro_rules! visitor {
    ($type:ty, $in_range:expr, $what:literal) => {
        impl<'de> Visitor<'de> for IntegerVisitor<$type> {
            type Value = $type;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str($what)
            }

            fn visit_i64<E: Error>(self, value: i64) -> Result<$type, E> {
                <$type>::try_from(value).map_err(|_| E::invalid_value(Unexpected::Signed(value), &self))
            }

            fn visit_u64<E: Error>(self, value: u64) -> Result<$type, E> {
                <$type>::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
            }

            fn visit_f64<E: Error>(self, value: f64) -> Result<$type, E> {
                if value.fract() == 0.0 && $in_range(value) {
                    // In range and integral: the conversion is exact.
                    Ok(value as $type)
                } else {
                    Err(E::invalid_type(Unexpected::Float(value), &self))
                }
            }
        }
    };
}

visitor!(i64, |value: f64| -TWO_POW_63 < value && value < TWO_POW_63, "an integer (64-bit signed)");
visitor!(u64, |value: f64| (0.0..TWO_POW_64).contains(&value), "an integer (64-bit unsigned)");
visitor!(u32, |value: f64| (0.0..TWO_POW_32).contains(&value), "an integer (32-bit unsigned)");

pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(IntegerVisitor::<i64>(std::marker::PhantomData))
}

pub fn u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(IntegerVisitor::<u64>(std::marker::PhantomData))
}

/// An optional `i64`: absent or `null` is `None`.
pub fn option_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct Wrapper(i64);
    impl<'de> serde::Deserialize<'de> for Wrapper {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Wrapper, D::Error> {
            i64(deserializer).map(Wrapper)
        }
    }
    Ok(<Option<Wrapper> as serde::Deserialize>::deserialize(deserializer)?.map(|wrapper| wrapper.0))
}

/// An optional `u32`: absent or `null` is `None`.
pub fn option_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    struct Wrapper(u32);
    impl<'de> serde::Deserialize<'de> for Wrapper {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Wrapper, D::Error> {
            deserializer.deserialize_any(IntegerVisitor::<u32>(std::marker::PhantomData)).map(Wrapper)
        }
    }
    Ok(<Option<Wrapper> as serde::Deserialize>::deserialize(deserializer)?.map(|wrapper| wrapper.0))
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Numbers {
        #[serde(deserialize_with = "super::i64")]
        signed: i64,
        #[serde(deserialize_with = "super::u64")]
        unsigned: u64,
        #[serde(default, deserialize_with = "super::option_i64")]
        optional: Option<i64>,
        #[serde(default, deserialize_with = "super::option_u32")]
        small: Option<u32>,
    }

    fn parse(json: &str) -> Result<Numbers, String> {
        serde_json::from_str(json).map_err(|error| error.to_string())
    }

    #[test]
    fn integral_numbers_are_integers_in_any_notation() {
        let numbers = parse(r#"{"signed": -7.0, "unsigned": 7e2, "optional": 1700000000000000000}"#).unwrap();
        assert_eq!(
            (numbers.signed, numbers.unsigned, numbers.optional),
            (-7, 700, Some(1_700_000_000_000_000_000))
        );
        let numbers =
            parse(r#"{"signed": 9223372036854775807, "unsigned": 18446744073709551615, "optional": null}"#)
                .unwrap();
        assert_eq!((numbers.signed, numbers.unsigned, numbers.optional), (i64::MAX, u64::MAX, None));
        assert_eq!(parse(r#"{"signed": 1, "unsigned": 2}"#).unwrap().optional, None);
        assert_eq!(
            parse(r#"{"signed": 1, "unsigned": 2, "small": 4294967295.0}"#).unwrap().small,
            Some(u32::MAX)
        );
        assert!(parse(r#"{"signed": 1, "unsigned": 2, "small": 4294967296}"#).is_err());
        assert!(parse(r#"{"signed": 1, "unsigned": 2, "small": 1.5}"#).is_err());
        assert_eq!(
            parse(r#"{"signed": 89182.0, "unsigned": 2068136000827729.0}"#).unwrap().unsigned,
            2_068_136_000_827_729
        );
    }

    #[test]
    fn fractions_out_of_range_numbers_and_other_types_are_refused() {
        for json in [
            r#"{"signed": 1.5, "unsigned": 1}"#,
            r#"{"signed": 1, "unsigned": -1}"#,
            r#"{"signed": 1, "unsigned": -1.0}"#,
            r#"{"signed": 9223372036854775808, "unsigned": 1}"#,
            r#"{"signed": -9223372036854775809, "unsigned": 1}"#,
            r#"{"signed": 1, "unsigned": 18446744073709551616}"#,
            r#"{"signed": 1e19, "unsigned": 1}"#,
            r#"{"signed": 1, "unsigned": 1.8446744073709552e19}"#,
            r#"{"signed": "1", "unsigned": 1}"#,
            r#"{"signed": 1, "unsigned": true}"#,
            r#"{"signed": 1, "unsigned": 1, "optional": 0.5}"#,
        ] {
            assert!(parse(json).is_err(), "{json} was accepted");
        }
    }
}

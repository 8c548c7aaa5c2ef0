//! The keyset cursor every list hands out: opaque to clients (hex of the key values of the last
//! row seen), checked on the way back in, with a 422 naming `cursor` for anything else.

use crate::error::{ApiError, ApiResult};

/// The cursor after a row whose keyset position is `keys`.
pub fn encode<const N: usize>(keys: [i64; N]) -> String {
    hex::encode(keys.map(|k| k.to_string()).join("|"))
}

/// The keyset position a cursor from [`encode`] holds.
pub fn decode<const N: usize>(cursor: &str) -> ApiResult<[i64; N]> {
    let invalid = || ApiError::invalid("cursor", "is not a cursor this endpoint gave out");
    let text = hex::decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let keys: Vec<i64> = text.split('|').map(str::parse).collect::<Result<_, _>>().map_err(|_| invalid())?;
    keys.try_into().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        assert_eq!(decode::<2>(&encode([1_764_000_000_000_000, 42])).unwrap(), [1_764_000_000_000_000, 42]);
        assert_eq!(decode::<1>(&encode([-7])).unwrap(), [-7]);
        for bad in ["", "zz", &hex::encode("1|x"), &hex::encode("1"), &hex::encode("1|2|3")] {
            assert_eq!(decode::<2>(bad).unwrap_err().field.as_deref(), Some("cursor"), "{bad}");
        }
    }
}

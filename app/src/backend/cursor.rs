//! The keyset cursor every list hands out: opaque to clients (hex of the key values of the last
//! row seen), checked on the way back in, with a 422 naming `cursor` for anything else.

use crate::error::{ApiError, ApiResult};

/// The cursor after a row whose keyset position is `keys`.
pub fn encode<const N: usize>(keys: [i64; N]) -> String {
    hex::encode(keys.map(|k| k.to_string()).join("|"))
}

/// The keyset position a cursor from [`encode`] holds.
pub fn decode<const N: usize>(cursor: &str) -> ApiResult<[i64; N]> {
    let keys: Vec<i64> = decode_text::<N>(cursor)?.iter().map(|k| k.parse()).collect::<Result<_, _>>().map_err(|_| invalid())?;
    keys.try_into().map_err(|_| invalid())
}

fn invalid() -> ApiError {
    ApiError::invalid("cursor", "is not a cursor this endpoint gave out")
}

/// The cursor after a row whose keyset position is the text `keys` (times and ids, which
/// never hold `|`).
pub fn encode_text<const N: usize>(keys: [&str; N]) -> String {
    hex::encode(keys.join("|"))
}

/// The keyset position a cursor from [`encode_text`] holds.
pub fn decode_text<const N: usize>(cursor: &str) -> ApiResult<[String; N]> {
    let text = hex::decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    let keys: Vec<String> = text.split('|').map(str::to_owned).collect();
    keys.try_into().map_err(|_| invalid())
}

/// Rows per page when the client does not say, and the most it may ask for.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// A list's `limit`: [`DEFAULT_LIMIT`] when absent, else 1–[`MAX_LIMIT`] (422 naming `limit`).
pub fn limit(limit: Option<i64>) -> ApiResult<i64> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    Ok(limit)
}

/// One page of a short list the caller holds whole (an org's keys, members, credentials,
/// streams, checkpoints): the rows in `key` order (`ascending` or not) after the cursor's
/// key, at most `limit` of them, and the next page's cursor. Keys are ids and times, never
/// free text (which could hold the `|` that joins them).
pub fn page<T>(mut rows: Vec<T>, key: impl Fn(&T) -> [String; 2], ascending: bool, limit: Option<i64>, cursor: Option<&str>) -> ApiResult<(Vec<T>, Option<String>)> {
    let limit = self::limit(limit)? as usize;
    let after = cursor.filter(|c| !c.is_empty()).map(decode_text::<2>).transpose()?;
    let in_order = |a: &[String; 2], b: &[String; 2]| if ascending { a < b } else { a > b };
    rows.sort_by(|a, b| if ascending { key(a).cmp(&key(b)) } else { key(b).cmp(&key(a)) });
    let mut rest: Vec<T> = match after {
        Some(after) => rows.into_iter().filter(|r| in_order(&after, &key(r))).collect(),
        None => rows,
    };
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more { rest.last().map(|r| key(r)).map(|[a, b]| encode_text([&a, &b])) } else { None };
    Ok((rest, next))
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
        let [at, id] = decode_text::<2>(&encode_text(["2026-12-05T10:00:00.000000Z", "0193-ab"])).unwrap();
        assert_eq!((at.as_str(), id.as_str()), ("2026-12-05T10:00:00.000000Z", "0193-ab"));
        assert_eq!(decode_text::<2>(&hex::encode("only one")).unwrap_err().field.as_deref(), Some("cursor"));
        assert_eq!((limit(None).unwrap(), limit(Some(200)).unwrap()), (50, 200));
        for bad in [0, 201, -1] {
            assert_eq!(limit(Some(bad)).unwrap_err().field.as_deref(), Some("limit"));
        }
    }

    #[test]
    fn pages_of_a_list_held_whole_never_overlap() {
        let rows: Vec<u32> = vec![5, 1, 9, 3, 7, 2];
        let key = |n: &u32| [format!("{n:04}"), String::new()];
        for ascending in [true, false] {
            let (mut seen, mut cursor) = (Vec::new(), None::<String>);
            loop {
                let (rows, next) = page(rows.clone(), key, ascending, Some(4), cursor.as_deref()).unwrap();
                seen.extend(rows);
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let mut want = vec![1, 2, 3, 5, 7, 9];
            if !ascending {
                want.reverse();
            }
            assert_eq!(seen, want);
        }
        assert_eq!(page(rows, key, true, Some(0), None).unwrap_err().field.as_deref(), Some("limit"));
    }
}

//! The objects that hold values and never wait: counters, sums, maps,
//! lists and blobs.

use std::collections::BTreeMap;

use ::redis::cmd;

use super::Call;
use crate::error::StateError;
use crate::op::{Op, Reply};

/// The longest string Redis holds, and so the longest blob.
const MAX_BLOB: u64 = crate::op::MAX_BLOB_LEN;

/// Applies an operation on a counter, a sum, a map, a list or a blob.
pub(super) fn apply(call: &mut Call<'_>, op: Op) -> Result<Reply, StateError> {
    let object = call.object.clone();
    let reply = match op {
        Op::CounterGet => {
            let stored = call.query(cmd("GET").arg(&object))?;
            Reply::Int(integer(call, stored)?)
        }
        Op::CounterAdd(delta) => {
            let added = call.write(|pipe| {
                pipe.cmd("INCRBY").arg(&object).arg(delta);
            });
            match added {
                Ok(value) => Reply::Int(value),
                Err(error) if error.to_string().contains("overflow") => {
                    let stored = call.query(cmd("GET").arg(&object))?;
                    let value = integer(call, stored)?;
                    return Err(StateError::Invalid {
                        object: call.key.to_string(),
                        message: format!("adding {delta} to {value} overflows a 64-bit counter"),
                    });
                }
                Err(error) => return Err(call.error(error)),
            }
        }
        Op::CounterSet(new) => {
            let before = call
                .write(|pipe| {
                    pipe.cmd("SET").arg(&object).arg(new).arg("GET");
                })
                .map_err(|error| call.error(error))?;
            Reply::Int(integer(call, before)?)
        }
        Op::CounterCompareAndSet { expected, new } => {
            let mut invocation = call.prepare(&call.scripts.counter_cas);
            invocation.arg(expected).arg(new);
            let before: Vec<u8> = call.invoke(&invocation)?;
            Reply::Int(integer(call, Some(before))?)
        }

        Op::SumGet => {
            let stored = call.query(cmd("GET").arg(&object))?;
            Reply::Float(float(call, stored)?)
        }
        Op::SumAdd(delta) => {
            let mut invocation = call.prepare(&call.scripts.sum_add);
            invocation.arg(exact(delta));
            let sum: Vec<u8> = call.invoke(&invocation)?;
            Reply::Float(float(call, Some(sum))?)
        }
        Op::SumSet(new) => {
            let before = call
                .write(|pipe| {
                    pipe.cmd("SET").arg(&object).arg(exact(new)).arg("GET");
                })
                .map_err(|error| call.error(error))?;
            Reply::Float(float(call, before)?)
        }

        Op::MapGet(field) => Reply::Value(call.query(cmd("HGET").arg(&object).arg(field))?),
        Op::MapPut(field, value) => {
            let mut invocation = call.prepare(&call.scripts.map_put);
            invocation.arg(field).arg(value);
            Reply::Value(call.invoke(&invocation)?)
        }
        Op::MapRemove(field) => {
            let mut invocation = call.prepare(&call.scripts.map_remove);
            invocation.arg(field);
            Reply::Value(call.invoke(&invocation)?)
        }
        Op::MapCompareAndSet {
            field,
            expected,
            new,
        } => {
            let mut invocation = call.prepare(&call.scripts.map_cas);
            invocation
                .arg(field)
                .arg(flag(expected.is_some()))
                .arg(expected.unwrap_or_default())
                .arg(flag(new.is_some()))
                .arg(new.unwrap_or_default());
            Reply::Value(call.invoke(&invocation)?)
        }
        Op::MapLen => Reply::Int(call.query(cmd("HLEN").arg(&object))?),
        Op::MapSnapshot => {
            let entries: BTreeMap<Vec<u8>, Vec<u8>> = call.query(cmd("HGETALL").arg(&object))?;
            Reply::Entries(entries.into_iter().collect())
        }

        Op::ListAppend(values) if values.is_empty() => {
            Reply::Int(call.query(cmd("LLEN").arg(&object))?)
        }
        Op::ListAppend(values) => Reply::Int(
            call.write(|pipe| {
                pipe.cmd("RPUSH").arg(&object).arg(values);
            })
            .map_err(|error| call.error(error))?,
        ),
        Op::ListRange { start, end } => {
            // LRANGE's end is inclusive and clamped to the list; a start
            // past the end gives nothing.
            let last = end.min(i64::MAX as u64 + 1);
            if start >= last {
                Reply::Values(Vec::new())
            } else {
                Reply::Values(call.query(cmd("LRANGE").arg(&object).arg(start).arg(last - 1))?)
            }
        }
        Op::ListLen => Reply::Int(call.query(cmd("LLEN").arg(&object))?),

        Op::BlobGet => Reply::Value(call.query(cmd("GET").arg(&object))?),
        Op::BlobSet(data) => {
            if data.len() as u64 > MAX_BLOB {
                return Err(too_long(call, 0, data.len() as u64));
            }
            call.write::<()>(|pipe| {
                pipe.cmd("SET").arg(&object).arg(data);
            })
            .map_err(|error| call.error(error))?;
            Reply::Unit
        }
        Op::BlobRead { offset, len } => {
            // GETRANGE's end is inclusive, and negative ends count from the
            // end of the string: an empty range never reaches Redis.
            if len == 0 || offset >= MAX_BLOB {
                Reply::Value(Some(Vec::new()))
            } else {
                let last = offset.saturating_add(len - 1).min(MAX_BLOB);
                Reply::Value(Some(
                    call.query(cmd("GETRANGE").arg(&object).arg(offset).arg(last))?,
                ))
            }
        }
        Op::BlobWrite { offset, data } => {
            if offset.saturating_add(data.len() as u64) > MAX_BLOB {
                return Err(too_long(call, offset, data.len() as u64));
            }
            let mut invocation = call.prepare(&call.scripts.blob_write);
            invocation.arg(offset).arg(data);
            Reply::Int(call.invoke(&invocation)?)
        }
        Op::BlobLen => Reply::Int(call.query(cmd("STRLEN").arg(&object))?),

        other => {
            return Err(StateError::Invalid {
                object: call.key.to_string(),
                message: format!("{other:?} is not an operation on a {}", call.key.kind),
            });
        }
    };
    Ok(reply)
}

/// A yes or no argument of a script.
fn flag(yes: bool) -> &'static str {
    if yes { "1" } else { "0" }
}

/// `value` as text that reads back as the same double, in Rust and in Lua
/// (whose `tonumber` is C's `strtod`): Rust's shortest round-trip form,
/// with `inf`, `-inf` and `NaN` for the values that are not finite.
fn exact(value: f64) -> String {
    format!("{value:?}")
}

/// A counter's stored value; an absent counter is 0.
fn integer(call: &Call<'_>, stored: Option<Vec<u8>>) -> Result<i64, StateError> {
    let Some(stored) = stored else { return Ok(0) };
    std::str::from_utf8(&stored)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| call.malformed("64-bit integer", &stored))
}

/// A sum's stored value; an absent sum is 0.0.
fn float(call: &Call<'_>, stored: Option<Vec<u8>>) -> Result<f64, StateError> {
    let Some(stored) = stored else {
        return Ok(0.0);
    };
    std::str::from_utf8(&stored)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| call.malformed("64-bit float", &stored))
}

/// The error for a blob write that would make it longer than Redis allows.
fn too_long(call: &Call<'_>, offset: u64, len: u64) -> StateError {
    StateError::Invalid {
        object: call.key.to_string(),
        message: format!(
            "writing {len} bytes at offset {offset} would pass the {MAX_BLOB} bytes (512 MiB) a \
             Redis string can hold; split the data over several blobs"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_text_reads_back_as_the_same_double() {
        for value in [
            0.1,
            -0.0,
            1e300,
            5e-324,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1 + 0.2,
        ] {
            let back: f64 = exact(value).parse().unwrap();
            assert_eq!(back.to_bits(), value.to_bits(), "{value}");
        }
        assert!(exact(f64::NAN).parse::<f64>().unwrap().is_nan());
    }

    #[test]
    fn lua_renderings_of_special_values_parse() {
        for (text, expected) in [
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("-0", -0.0),
        ] {
            assert_eq!(text.parse::<f64>().unwrap().to_bits(), expected.to_bits());
        }
        for text in ["nan", "-nan"] {
            assert!(text.parse::<f64>().unwrap().is_nan(), "{text}");
        }
    }
}

//! How values cross to another process: the inputs and outputs of tasks that
//! run on workers, in MessagePack. It is compact and quick to read, keeps
//! the field names of structs (so that a mismatch between two builds is an
//! error rather than a wrong value), and takes map keys of any type.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Serializes a value for another process, as the inputs and outputs of
/// [`Function::call_serialized`](crate::Function::call_serialized) are.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    rmp_serde::to_vec_named(value).map_err(|error| error.to_string())
}

/// Reads a value that [`encode`] wrote.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|error| error.to_string())
}

/// The serialization of a list, from the serializations of its items in
/// order: a reducer's input is made from its map tasks' outputs without
/// decoding them.
pub(crate) fn join_encoded(items: Vec<Vec<u8>>) -> Vec<u8> {
    let length = items.iter().map(Vec::len).sum::<usize>() + 5;
    let mut list = Vec::with_capacity(length);
    let count = u32::try_from(items.len()).expect("fewer than 2^32 map tasks per reducer");
    rmp::encode::write_array_len(&mut list, count).expect("writing to a Vec cannot fail");
    for item in items {
        list.extend_from_slice(&item);
    }
    list
}

/// The typed ends of [`encode`] and [`decode`] for one job, kept as plain
/// function pointers so that the job's untyped parts can call them.
pub(crate) struct Codec<I, O> {
    pub(crate) encode: fn(&I) -> Result<Vec<u8>, String>,
    pub(crate) decode: fn(&[u8]) -> Result<O, String>,
    types: PhantomData<fn(I) -> O>,
}

impl<I: Serialize, O: DeserializeOwned> Codec<I, O> {
    pub(crate) fn new() -> Self {
        Codec {
            encode: |input| encode(input),
            decode: |bytes| decode(bytes),
            types: PhantomData,
        }
    }
}

impl<I, O> Clone for Codec<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for Codec<I, O> {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_joined_list_decodes_as_the_list_of_its_items() {
        let items: Vec<BTreeMap<(u8, u8), String>> = (0..20)
            .map(|n| (0..n).map(|k| ((k, n), format!("{k} of {n}"))).collect())
            .collect();
        let encoded = items.iter().map(|item| encode(item).unwrap()).collect();
        let list: Vec<BTreeMap<(u8, u8), String>> = decode(&join_encoded(encoded)).unwrap();
        assert_eq!(list, items);
        assert_eq!(
            decode::<Vec<u8>>(&join_encoded(Vec::new())).unwrap(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn a_mismatched_struct_is_an_error() {
        #[derive(Serialize)]
        struct Old {
            count: u64,
        }
        #[derive(serde::Deserialize, Debug)]
        struct New {
            #[allow(dead_code)]
            total: u64,
        }
        let error = decode::<New>(&encode(&Old { count: 3 }).unwrap()).unwrap_err();
        assert!(error.contains("total"), "{error}");
    }
}

//! The objects that do not wait: what each operation returns and leaves.

use cloudbutton_state::{State, StateError};

pub fn counter_basics(state: &State) {
    let counter = state.counter("c");
    assert_eq!(counter.get().unwrap(), 0);
    assert_eq!(counter.add(5).unwrap(), 5);
    assert_eq!(counter.increment().unwrap(), 6);
    assert_eq!(counter.add(-10).unwrap(), -4);
    assert_eq!(counter.set(42).unwrap(), -4);
    assert!(!counter.compare_and_set(41, 0).unwrap());
    assert_eq!(counter.get().unwrap(), 42);
    assert!(counter.compare_and_set(42, 7).unwrap());
    assert_eq!(counter.compare_and_swap(1, 2).unwrap(), 7);
    assert_eq!(counter.get().unwrap(), 7);
}

pub fn counter_overflow_changes_nothing(state: &State) {
    let counter = state.counter("big");
    counter.set(i64::MAX - 1).unwrap();
    let error = counter.add(2).unwrap_err();
    assert!(matches!(error, StateError::Invalid { .. }), "{error:?}");
    assert!(error.to_string().contains("counter `big`"), "{error}");
    assert_eq!(counter.get().unwrap(), i64::MAX - 1);
}

pub fn sum_adds_in_order(state: &State) {
    let sum = state.sum("s");
    assert_eq!(sum.get().unwrap(), 0.0);
    // Values whose sum depends on the order of addition: the store must
    // apply IEEE f64 addition one step at a time, like this loop.
    let deltas = [
        0.1,
        1e16,
        -1e16,
        0.2,
        1.0 / 3.0,
        -7.25e-3,
        2.5e300,
        -2.5e300,
    ];
    let mut expected = 0.0f64;
    for delta in deltas {
        expected += delta;
        assert_eq!(sum.add(delta).unwrap().to_bits(), expected.to_bits());
    }
    assert_eq!(sum.get().unwrap().to_bits(), expected.to_bits());
    assert_eq!(sum.set(1.5).unwrap().to_bits(), expected.to_bits());
    assert_eq!(sum.get().unwrap(), 1.5);
}

pub fn map_basics(state: &State) {
    let map = state.map::<String, Vec<u32>>("m");
    let (a, b) = ("a".to_owned(), "b".to_owned());
    assert_eq!(map.get(&a).unwrap(), None);
    assert!(map.is_empty().unwrap());
    assert_eq!(map.put(&a, &vec![1]).unwrap(), None);
    assert_eq!(map.put(&a, &vec![1, 2]).unwrap(), Some(vec![1]));
    assert_eq!(map.put(&b, &vec![]).unwrap(), None);
    assert_eq!(map.len().unwrap(), 2);
    assert_eq!(map.get(&a).unwrap(), Some(vec![1, 2]));

    assert!(!map.compare_and_set(&a, Some(&vec![9]), None).unwrap());
    assert!(
        map.compare_and_set(&a, Some(&vec![1, 2]), Some(&vec![3]))
            .unwrap()
    );
    assert!(
        !map.compare_and_set(&"c".to_owned(), Some(&vec![]), None)
            .unwrap()
    );
    assert!(
        map.compare_and_set(&"c".to_owned(), None, Some(&vec![4]))
            .unwrap()
    );

    assert_eq!(
        map.snapshot().unwrap(),
        [
            (a.clone(), vec![3]),
            (b.clone(), vec![]),
            ("c".to_owned(), vec![4])
        ]
    );
    assert_eq!(map.remove(&b).unwrap(), Some(vec![]));
    assert_eq!(map.remove(&b).unwrap(), None);
    assert!(map.compare_and_set(&a, Some(&vec![3]), None).unwrap());
    assert_eq!(map.len().unwrap(), 1);
}

pub fn map_update_and_merge(state: &State) {
    let map = state.map::<u32, f64>("partials");
    assert_eq!(map.merge(1, 0.5, |old, new| old + new).unwrap(), 0.5);
    assert_eq!(map.merge(1, 2.0, |old, new| old + new).unwrap(), 2.5);
    assert_eq!(
        map.update(&2, |old| Some(old.unwrap_or(10.0) * 2.0))
            .unwrap(),
        Some(20.0)
    );
    assert_eq!(map.update(&1, |_| None).unwrap(), None);
    assert_eq!(map.snapshot().unwrap(), [(2, 20.0)]);
}

pub fn map_decode_error_names_the_map(state: &State) {
    state
        .map::<String, String>("words")
        .put(&"k".to_owned(), &"v".to_owned())
        .unwrap();
    let error = state
        .map::<String, u64>("words")
        .get(&"k".to_owned())
        .unwrap_err();
    assert!(matches!(error, StateError::Decode { .. }), "{error:?}");
    assert!(error.to_string().contains("map `words`"), "{error}");
}

pub fn list_appends_and_ranges(state: &State) {
    let list = state.list::<String>("log");
    assert!(list.is_empty().unwrap());
    assert_eq!(list.append(&"a".to_owned()).unwrap(), 1);
    let more: Vec<String> = ["b", "c", "d"].iter().map(|s| s.to_string()).collect();
    assert_eq!(list.extend(&more).unwrap(), 4);
    assert_eq!(list.range(1..3).unwrap(), ["b", "c"]);
    assert_eq!(list.range(3..100).unwrap(), ["d"]);
    assert_eq!(list.range(10..20).unwrap(), Vec::<String>::new());
    assert_eq!(list.to_vec().unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(list.len().unwrap(), 4);
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = list.range(3..1).unwrap_err();
    assert!(backwards.to_string().contains("list `log`"), "{backwards}");
}

pub fn blob_whole_and_ranged(state: &State) {
    let blob = state.blob("weights");
    assert_eq!(blob.get().unwrap(), None);
    assert_eq!(blob.len().unwrap(), 0);
    assert_eq!(blob.read(0, 10).unwrap(), b"");

    blob.set(b"hello world").unwrap();
    assert_eq!(blob.get().unwrap().as_deref(), Some(&b"hello world"[..]));
    assert_eq!(blob.read(6, 5).unwrap(), b"world");
    assert_eq!(blob.read(6, 100).unwrap(), b"world");
    assert_eq!(blob.read(100, 5).unwrap(), b"");

    assert_eq!(blob.write(0, b"J").unwrap(), 11);
    assert_eq!(blob.write(13, b"!!").unwrap(), 15);
    assert_eq!(blob.get().unwrap().unwrap(), b"Jello world\0\0!!");

    let fresh = state.blob("fresh");
    assert_eq!(fresh.write(3, &[7]).unwrap(), 4);
    assert_eq!(fresh.get().unwrap().unwrap(), [0, 0, 0, 7]);
    fresh.set(b"").unwrap();
    assert_eq!(fresh.get().unwrap().as_deref(), Some(&b""[..]));
}

pub fn scopes_are_separate(state: &State) {
    let named = state.namespace("suite-kept").unwrap();
    named.clear().unwrap();
    state.counter("n").add(1).unwrap();
    state.map::<u8, u8>("m").put(&1, &1).unwrap();
    named.counter("n").add(10).unwrap();

    assert_eq!(state.clear().unwrap(), 2);
    assert_eq!(state.counter("n").get().unwrap(), 0);
    assert_eq!(state.map::<u8, u8>("m").len().unwrap(), 0);
    assert_eq!(named.counter("n").get().unwrap(), 10);
    assert_eq!(named.clear().unwrap(), 1);
}

pub fn delete_removes_one_object(state: &State) {
    state.counter("x").add(3).unwrap();
    state.sum("x").add(1.0).unwrap();
    assert!(state.counter("x").delete().unwrap());
    assert!(!state.counter("x").delete().unwrap());
    assert_eq!(state.counter("x").get().unwrap(), 0);
    assert_eq!(state.sum("x").get().unwrap(), 1.0);
}

pub fn blob_writes_past_the_limit_are_refused(state: &State) {
    let blob = state.blob("bounded");
    blob.set(b"kept").unwrap();
    for offset in [cloudbutton_state::MAX_BLOB_LEN, 1 << 40, u64::MAX - 1] {
        let error = blob.write(offset, b"xy").unwrap_err();
        assert!(matches!(error, StateError::Invalid { .. }), "{error:?}");
        assert!(error.to_string().contains("blob `bounded`"), "{error}");
    }
    assert_eq!(blob.get().unwrap().unwrap(), b"kept");
}

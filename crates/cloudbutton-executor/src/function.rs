//! Native functions: plain Rust functions registered under a stable name.
//!
//! A closure cannot be sent to another machine, but a name can. Every
//! function the executor runs is a [`Function`]: a `fn` pointer plus the
//! name it is registered under with [`register!`](crate::register). The
//! local backend calls the pointer directly, with no serialization; a worker
//! process on another host finds the same function by name in its own copy
//! of the program, through [`lookup`].

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::context::TaskContext;

/// The error a function returns: anything that can be shown to the user.
pub type FnError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a function returns.
pub type FnResult<T> = Result<T, FnError>;

/// A native function that tasks can run: a name and a `fn` pointer.
///
/// ```
/// use cloudbutton_executor::{Function, FnResult, TaskContext};
///
/// fn square(x: u64, _ctx: &TaskContext) -> FnResult<u64> {
///     Ok(x * x)
/// }
///
/// pub static SQUARE: Function<u64, u64> = Function::new("doc::square", square);
/// cloudbutton_executor::register!(SQUARE);
///
/// assert_eq!(SQUARE.name(), "doc::square");
/// ```
pub struct Function<I, O> {
    name: &'static str,
    body: fn(I, &TaskContext) -> FnResult<O>,
}

impl<I, O> Function<I, O> {
    /// Names a function. The name must be unique in the program and stable
    /// across builds, since workers on other machines look it up by name.
    pub const fn new(name: &'static str, body: fn(I, &TaskContext) -> FnResult<O>) -> Self {
        Self { name, body }
    }

    /// The name the function is registered under.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the function in this thread.
    pub fn call(&self, input: I, ctx: &TaskContext) -> FnResult<O> {
        (self.body)(input, ctx)
    }
}

impl<I: DeserializeOwned, O: Serialize> Function<I, O> {
    /// Runs the function on a serialized input and serializes its output,
    /// both in MessagePack with named fields: the path a worker takes when
    /// the input comes from another process.
    pub fn call_serialized(&self, input: &[u8], ctx: &TaskContext) -> FnResult<Vec<u8>> {
        let input: I = codec::decode(input)
            .map_err(|e| format!("cannot decode the input of `{}`: {e}", self.name))?;
        let output = self.call(input, ctx)?;
        codec::encode(&output)
            .map_err(|e| format!("cannot encode the output of `{}`: {e}", self.name).into())
    }
}

impl<I, O> Clone for Function<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for Function<I, O> {}

impl<I, O> fmt::Debug for Function<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Function").field(&self.name).finish()
    }
}

/// A registered function with its types erased, found by name.
pub struct Registration {
    /// The stable name.
    pub name: &'static str,
    /// Runs the function on a serialized input, returning its serialized output.
    pub invoke: fn(&[u8], &TaskContext) -> FnResult<Vec<u8>>,
}

inventory::collect!(Registration);

/// Registers a `static` [`Function`] so that it can be found by name with
/// [`lookup`], in this process or in a worker running the same program.
#[macro_export]
macro_rules! register {
    ($function:path) => {
        $crate::inventory::submit! {
            $crate::Registration {
                name: $function.name(),
                invoke: |input, ctx| $function.call_serialized(input, ctx),
            }
        }
    };
}

/// Finds a registered function by name.
pub fn lookup(name: &str) -> Option<&'static Registration> {
    inventory::iter::<Registration>
        .into_iter()
        .find(|registration| registration.name == name)
}

/// The names of every registered function, sorted.
pub fn registered_names() -> Vec<&'static str> {
    let mut names: Vec<_> = inventory::iter::<Registration>
        .into_iter()
        .map(|registration| registration.name)
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: i32, _ctx: &TaskContext) -> FnResult<i32> {
        Ok(x * 2)
    }

    static DOUBLE: Function<i32, i32> = Function::new("function-tests::double", double);
    crate::register!(DOUBLE);

    #[test]
    fn a_registered_function_runs_by_name_on_serialized_input() {
        let registration = lookup("function-tests::double").expect("registered");
        let ctx = TaskContext::detached(0);
        let output = (registration.invoke)(&codec::encode(&21).unwrap(), &ctx).unwrap();
        assert_eq!(codec::decode::<i32>(&output).unwrap(), 42);
        assert!(registered_names().contains(&"function-tests::double"));
    }

    #[test]
    fn undecodable_input_names_the_function() {
        let ctx = TaskContext::detached(0);
        let err = DOUBLE
            .call_serialized(&codec::encode("x").unwrap(), &ctx)
            .unwrap_err();
        assert!(err.to_string().contains("function-tests::double"), "{err}");
    }

    #[test]
    fn unknown_names_are_not_found() {
        assert!(lookup("function-tests::missing").is_none());
    }
}
